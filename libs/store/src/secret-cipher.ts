import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SecretsKeys } from '@linkflow/domain';
import { credentialErrors } from './credential-errors.ts';

/**
 * AES-256-GCM for credential values: a random 96-bit IV per value, a 128-bit tag, and the
 * value's place (tenant, credential name, key) as associated data, so a ciphertext copied to
 * another tenant's row, another credential or another key fails to decrypt instead of
 * leaking there. Sealed form: `<iv>.<tag>.<ciphertext>`, each base64.
 */
export interface SecretCipher {
  /** Fingerprint of the current key (stored per row); undefined when no key is configured. */
  readonly keyId: string | undefined;
  /** Fingerprints of every configured key (current and previous). */
  readonly keyIds: readonly string[];
  /** @throws AppError SECRETS_KEY_MISSING without a current key. */
  seal(plain: string, place: SecretPlace): string;
  /**
   * Opens a value sealed under the key whose fingerprint is `keyId` (current or previous).
   * @throws AppError SECRETS_KEY_MISSING or CREDENTIAL_UNREADABLE (never the value or the key).
   */
  open(sealed: string, place: SecretPlace, keyId: string): string;
}

/** Where a value lives: its associated data. */
export interface SecretPlace {
  readonly tenantId: string;
  readonly name: string;
  readonly key: string;
}

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key's fingerprint: enough to tell keys apart, useless to guess one. */
const fingerprint = (bytes: Buffer) =>
  createHash('sha256').update('linkflow-secrets-key\0').update(bytes).digest('hex').slice(0, 16);

const toKey = (base64: string | undefined): Key | undefined => {
  if (base64 === undefined) return undefined;
  const bytes = Buffer.from(base64, 'base64');
  return { id: fingerprint(bytes), bytes };
};

const aad = (place: SecretPlace) =>
  Buffer.from(`${place.tenantId}\0${place.name}\0${place.key}`, 'utf8');

/** Builds the cipher over the configured keys (LINKFLOW_SECRETS_KEY[_PREVIOUS]). */
export function createSecretCipher(keys: SecretsKeys): SecretCipher {
  const current = toKey(keys.current);
  const previous = toKey(keys.previous);
  const byId = new Map([previous, current].flatMap((k) => (k ? [[k.id, k] as const] : [])));
  return {
    keyId: current?.id,
    keyIds: [...byId.keys()],
    seal(plain, place) {
      if (current === undefined) throw credentialErrors.keyMissing();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.bytes, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(place));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64')).join('.');
    },
    open(sealed, place, keyId) {
      if (current === undefined) throw credentialErrors.keyMissing();
      const key = byId.get(keyId);
      if (key === undefined) throw credentialErrors.unreadable(place.name, 'under an unknown key');
      const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64'));
      if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || body === undefined)
        throw credentialErrors.unreadable(place.name, 'malformed');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv, {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(aad(place));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw credentialErrors.unreadable(place.name, 'does not authenticate', cause);
      }
    },
  };
}
