/**
 * The parties that act on contracts and the roles they act in: protocol facts that the payload
 * schemas, the party module and the approval policies (`state/contracts/policy.ts`) all build on.
 */

export const PARTIES = ['municipality', 'provider'] as const;
export type Party = (typeof PARTIES)[number];

/** The closed list of roles a policy can name. Adding one is a protocol change (state holds policies). */
export const ROLES = ['caseworker', 'centre-chief', 'director', 'provider-representative'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Which roles exist on which side. A provider (care home, consultant firm, taxi company) acts
 * through its representative; the municipal hierarchy is caseworker → centre chief → director.
 * A leaf naming any other combination could never be satisfied, so it is refused when decoded.
 */
export const ROLES_OF_PARTY: Readonly<Record<Party, readonly Role[]>> = {
  municipality: ['caseworker', 'centre-chief', 'director'],
  provider: ['provider-representative'],
};
