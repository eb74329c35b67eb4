/** Schemas of the values payloads are made of: digests, CVR numbers, dates, codes, who acts. */
import { type Static, Type } from '@sinclair/typebox';
import { ROLES } from './roles.ts';

export const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'a 32-byte hex digest' });
export const Cvr = Type.String({ pattern: '^\\d{8}$', description: 'a CVR number (8 digits)' });
/** The format only; whether the day exists is checked where the date is used. */
export const CalendarDate = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'a date YYYY-MM-DD',
});
export const Code = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,31}$',
  description: 'a short code (a-z, 0-9, -; at most 32), not free text',
});
export const Kle = Type.String({
  pattern: '^\\d{2}(\\.\\d{2}){0,2}$',
  description: 'a KLE subject code such as 27.35.04',
});
export const Role = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: `one of ${ROLES.join(', ')}` },
);
export const Integer = (minimum: number, maximum: number, description?: string) =>
  Type.Integer({ minimum, maximum, ...(description ? { description } : {}) });

/** Who acts: a party, the role it acts in, and a pseudonymous actor id — never a name. */
export const Acting = Type.Object(
  {
    party: Cvr,
    role: Role,
    actor: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'a pseudonymous actor id (64 hex), never a name',
    }),
  },
  { additionalProperties: false, description: 'who acts: { party, role, actor }' },
);
export type Acting = Static<typeof Acting>;
