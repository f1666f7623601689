import { AppError } from '@linkflow/domain';

/** Errors of the credential store. Messages never quote a value or a key. */
export const credentialErrors = {
  keyMissing: () =>
    new AppError(
      'SECRETS_KEY_MISSING',
      'credentials are unavailable: no LINKFLOW_SECRETS_KEY is configured on this server',
      { kind: 'unavailable' },
    ),
  unreadable: (name: string, why: string, cause?: unknown) =>
    new AppError(
      'CREDENTIAL_UNREADABLE',
      `credential '${name}' cannot be decrypted with the configured keys (${why})`,
      { kind: 'internal', cause },
    ),
};
