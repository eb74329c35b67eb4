/**
 * The payloads of `party.*` transactions, defined once; the party module validates with them
 * (rules beyond a schema — a key's roles for its party's kind, a key on the curve — stay there).
 */
import { Type } from '@sinclair/typebox';
import { Cvr } from './common.ts';
import { ROLES } from './roles.ts';

/** A party has at most this many keys; a key at most this many roles. */
export const MAX_KEYS = 16;
const MAX_ROLES_PER_KEY = 4;

export const PublicKey = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'an Ed25519 public key (64 hex)',
});

export const PartyKeyInput = Type.Object(
  {
    publicKey: PublicKey,
    roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), {
      maxItems: MAX_ROLES_PER_KEY,
      description: 'the roles the key may act in',
    }),
    admin: Type.Optional(Type.Boolean({ description: 'may manage the party’s keys' })),
  },
  { additionalProperties: false, description: 'a key: { publicKey, roles, admin? }' },
);

export const partySchemas = {
  register: Type.Object(
    {
      cvr: Cvr,
      kind: Type.Union([Type.Literal('municipality'), Type.Literal('provider')]),
      keys: Type.Array(PartyKeyInput, { minItems: 1, maxItems: MAX_KEYS, description: `1-${MAX_KEYS} keys` }),
    },
    { additionalProperties: false },
  ),
  addKey: Type.Object({ cvr: Cvr, key: PartyKeyInput }, { additionalProperties: false }),
  revokeKey: Type.Object({ cvr: Cvr, publicKey: PublicKey }, { additionalProperties: false }),
};
