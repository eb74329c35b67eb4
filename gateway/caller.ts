/**
 * Who is calling the gateway, as established by authentication (a token from the municipal token
 * service, or a client certificate). Every later step — service agreements, authorisation, audit,
 * signing on the caller's behalf — works from this, never from raw headers.
 */

/** A user-system role from the role model, optionally constrained to KLE subjects (e.g. `27.*`). */
export interface Privilege {
  /** Role URI or short name as configured, e.g. `caseworker` or `urn:dk:tillid:roles:caseworker`. */
  readonly role: string;
  /** KLE constraint values, e.g. [`27.*`]; absent means unconstrained. */
  readonly kle?: readonly string[];
}

export interface Caller {
  /** The calling system: the token's entity id or the certificate's system/organisation id. */
  readonly system: string;
  /** The organisation the call is made for: `anvenderkontekst` in a token, CVR in a certificate. */
  readonly cvr: string;
  readonly privileges: readonly Privilege[];
  readonly via: 'token' | 'certificate' | 'person';
  /** From `x-TransaktionsId` (a UUID), generated when the caller sent none. */
  readonly transactionId: string;
  /** From `x-TransaktionsTid`, when sent. */
  readonly transactionTime?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook; absent only on public routes (health, docs). */
    caller?: Caller;
  }
}
