/**
 * EMULATOR of the municipal identity provider for people (not for production): an OpenID Connect
 * broker in front of KOMBIT's Context Handler, as a municipality's console login would meet it.
 * The real Context Handler asserts a person in SAML 2.0 (OIOSAML 3); a broker translates that
 * assertion into an OIDC ID token, which is what the gateway's console consumes. This emulator
 * speaks that OIDC shape: discovery, authorization code with PKCE (S256 only), a signed ID token
 * (ES256, `jose`) and a JWKS. Instead of a real login it shows a page to pick one of the configured
 * test persons. The token asserts the person (`sub`, `name`), the organisation they act for
 * (`cvr`) and their privileges from the role model (`privileges`: role URIs, optional KLE
 * constraints) — the same privilege shape the token service uses for systems.
 *
 * The protocol itself is the shared emulator core (oidc-provider-emulator.ts); the citizen IdP
 * (MitID through a broker, mitid-broker-oidc.ts) is the same protocol with other claims.
 */
import type { TokenPrivilege } from '../auth/token.ts';
import { OidcProviderEmulator } from './oidc-provider-emulator.ts';

/** A test person the emulator can assert. THROWAWAY: made-up people, no real identities. */
export interface EmulatedPerson {
  /** Stable pseudonymous subject id (as the broker would issue: never a CPR number). */
  readonly sub: string;
  readonly name: string;
  /** The organisation the person acts for. */
  readonly cvr: string;
  /** The unit the person works in (e.g. "Familieafdelingen"): named in the access log. */
  readonly unit?: string;
  readonly privileges: readonly TokenPrivilege[];
}

export interface ContextHandlerOptions {
  readonly cert: string;
  readonly key: string;
  readonly persons: readonly EmulatedPerson[];
  /** Relying parties: client id → allowed redirect URIs. */
  readonly clients: Readonly<Record<string, readonly string[]>>;
  readonly host?: string;
  readonly port?: number;
  readonly idTokenTtlSeconds?: number;
}

export type ContextHandlerEmulator = OidcProviderEmulator;

export const ContextHandlerEmulator = {
  start: ({ persons, ...o }: ContextHandlerOptions): Promise<ContextHandlerEmulator> =>
    OidcProviderEmulator.start({
      ...o,
      title: 'Context Handler',
      subjects: persons.map((p) => ({
        sub: p.sub,
        label: `${p.name} (CVR ${p.cvr}: ${p.privileges.map((x) => x.privilege.split(':').pop()).join(', ')})`,
        claims: { name: p.name, cvr: p.cvr, ...(p.unit ? { unit: p.unit } : {}), privileges: p.privileges },
      })),
    }),
};

/** THROWAWAY demo people for `npm start`: made-up names, pseudonymous subjects. */
export function demoPersons(municipality: string, provider: string): EmulatedPerson[] {
  const role = (r: string) => ({ privilege: `urn:dk:tillid:roles:${r}` });
  return [
    {
      sub: 'demo-sagsbehandler',
      name: 'Sara Sagsbehandler',
      cvr: municipality,
      privileges: [role('caseworker')],
    },
    {
      sub: 'demo-centerchef-1',
      name: 'Carl Centerchef',
      cvr: municipality,
      privileges: [role('centre-chief')],
    },
    {
      sub: 'demo-centerchef-2',
      name: 'Cecilie Centerchef',
      cvr: municipality,
      privileges: [role('centre-chief')],
    },
    { sub: 'demo-direktoer', name: 'Dorte Direktør', cvr: municipality, privileges: [role('director')] },
    { sub: 'demo-revisor', name: 'Rasmus Revisor', cvr: municipality, privileges: [role('auditor')] },
    {
      sub: 'demo-botilbud',
      name: 'Bo Botilbud',
      cvr: provider,
      privileges: [role('provider-representative')],
    },
  ];
}
