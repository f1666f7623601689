import { AppError, type SecretRef } from '@linkflow/domain';
import { resolveSecrets, type CredentialStoreDeps } from './credential-store.ts';
import { isTransientStoreError } from './transient-errors.ts';

/** Store errors that are the operator's or the tenant's to fix: the node fails VALIDATION. */
const UNUSABLE = new Set(['SECRETS_KEY_MISSING', 'CREDENTIAL_UNREADABLE']);

/** A resolution for the node runner: the values, or what is wrong (no value in the text). */
export type CredentialResolution =
  | { readonly ok: true; readonly secrets: Map<string, Record<string, string>> }
  | { readonly ok: false; readonly problem: string };

/**
 * Credential resolution as the engine's credential port wants it: decrypts and counts uses in
 * one statement. No key configured, a value no configured key opens, a missing credential or
 * key come back as a problem (never a value, never a stack); other store errors are thrown,
 * and `isTransient` says which of them mean Postgres is briefly unreachable.
 */
export function createCredentialResolver(deps: Pick<CredentialStoreDeps, 'pool' | 'cipher'>) {
  return {
    async resolve(tenantId: string, refs: readonly SecretRef[]): Promise<CredentialResolution> {
      try {
        const out = await resolveSecrets(deps, tenantId, refs);
        return out.ok ? { ok: true, secrets: out.secrets } : { ok: false, problem: out.missing };
      } catch (err) {
        if (err instanceof AppError && UNUSABLE.has(err.code))
          return { ok: false, problem: err.message };
        throw err;
      }
    },
    isTransient: isTransientStoreError,
  };
}
