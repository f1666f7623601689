import { Type, type Static } from '@sinclair/typebox';
import {
  CREDENTIAL_KEY,
  CREDENTIAL_NAME,
  MAX_CREDENTIAL_KEYS,
  MIN_SECRET_LENGTH,
} from '@linkflow/domain';
import type { CredentialRecord } from '@linkflow/store';
import { nullable, pageOf, Timestamp } from '../http/schemas.ts';

/** `[a-z0-9_-]{1,64}`, as a template spells it after `secrets.`. */
export const CredentialName = Type.String({
  pattern: CREDENTIAL_NAME.source,
  description: 'lowercase letters, digits, _ and -; at most 64 characters',
});

export const NameParams = Type.Object({ name: CredentialName });

/**
 * `data`: 1 to 100 keys (`[A-Za-z0-9_-]{1,64}`), each a string of at least 4 characters; at most 64 KiB
 * serialised (checked by the handler: JSON Schema cannot count bytes).
 */
export const CredentialData = Type.Object(
  {},
  {
    additionalProperties: Type.String({ minLength: MIN_SECRET_LENGTH }),
    propertyNames: { pattern: CREDENTIAL_KEY.source },
    minProperties: 1,
    maxProperties: MAX_CREDENTIAL_KEYS,
    description: 'key → secret string; never returned by any route',
  },
);

export const CreateCredentialBody = Type.Object(
  { name: CredentialName, data: CredentialData },
  { additionalProperties: false },
);

export const ReplaceCredentialBody = Type.Object(
  { data: CredentialData },
  { additionalProperties: false },
);

/** A credential as clients read it: never a value. */
export const CredentialView = Type.Object({
  name: Type.String(),
  keys: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  last_used_at: nullable(Timestamp),
  use_count: Type.Integer({ minimum: 0 }),
  workflows: Type.Array(Type.Object({ id: Type.String(), name: Type.String() }), {
    description: 'live workflows whose latest version references this credential',
  }),
});

export const CredentialPage = pageOf(CredentialView);

export function credentialView(c: CredentialRecord): Static<typeof CredentialView> {
  return {
    name: c.name,
    keys: [...c.keys],
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    last_used_at: c.lastUsedAt?.toISOString() ?? null,
    use_count: c.useCount,
    workflows: c.workflows.map((w) => ({ id: w.id, name: w.name })),
  };
}
