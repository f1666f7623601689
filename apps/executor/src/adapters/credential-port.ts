import { AppError } from '@linkflow/domain';
import type { CredentialPort } from '@linkflow/engine';
import { isTransientStoreError, resolveSecrets, type CredentialStoreDeps } from '@linkflow/store';

/** Store errors that are the operator's or the tenant's to fix: the node fails VALIDATION. */
const UNUSABLE = new Set(['SECRETS_KEY_MISSING', 'CREDENTIAL_UNREADABLE']);

/**
 * The engine's credential port over the store: resolution decrypts and counts uses in one
 * statement. No key configured, a value no configured key opens, a missing credential or key
 * come back as a problem (never a value, never a stack); other store errors are thrown.
 */
export function credentialPort(deps: Pick<CredentialStoreDeps, 'pool' | 'cipher'>): CredentialPort {
  return {
    async resolve(tenantId, refs) {
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
