/** The payloads of `governance.*`, defined once (the governance module validates with them). */
import { Type } from '@sinclair/typebox';
import { Cvr, Hash } from './common.ts';
import { PublicKey } from './party.ts';

export const governanceSchemas = {
  propose: Type.Object(
    {
      action: Type.Union([Type.Literal('add'), Type.Literal('remove')]),
      // Letters of any script, 2-80 code points: checked by the module, since a schema pattern has
      // no Unicode flag in TypeBox's compiler and a length counts UTF-16 units.
      name: Type.String({ description: 'the municipality name (2-80 characters)' }),
      cvr: Cvr,
      publicKey: PublicKey,
      address: Type.Optional(Type.String({ maxLength: 200, description: 'a multiaddr' })),
    },
    { additionalProperties: false },
  ),
  vote: Type.Object({ proposal: Hash }, { additionalProperties: false }),
  // Signed by the authority's current key; `proof` is the new key's signature of the rotation
  // (node/protocol/rotation.ts), so nobody can rotate to a key they do not hold.
  rotate: Type.Object(
    {
      publicKey: PublicKey,
      proof: Type.String({ pattern: '^[0-9a-f]{128}$', description: "the new key's signature (hex)" }),
    },
    { additionalProperties: false },
  ),
};
