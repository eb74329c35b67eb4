/**
 * EMULATOR of the national citizen login (not for production): MitID as a municipality meets it,
 * through an OpenID Connect broker. A real broker runs the MitID authentication and issues an ID
 * token for the citizen with a pseudonymous, per-client `sub` and — when the relying party is
 * entitled to it — the person's CPR number as a claim. This emulator speaks that shape
 * (authorization code + PKCE, signed ID token, JWKS: oidc-provider-emulator.ts) and asserts the
 * CPR number in a `cpr` claim. Instead of MitID it shows a page to pick a test citizen.
 *
 * THROWAWAY test citizens only: made-up CPR numbers, no real identities. The CPR number leaves
 * here only in the ID token to the gateway, which hands it to the municipality's case system
 * adapter (gateway/citizens/case-system.ts) and keeps nothing of it.
 */
import { OidcProviderEmulator } from './oidc-provider-emulator.ts';

export interface EmulatedCitizen {
  /** The broker's pseudonymous subject id for this citizen (never the CPR number). */
  readonly sub: string;
  /** What the emulator's picker shows (a test label; the token carries no name). */
  readonly label: string;
  /** A made-up CPR number (ten digits). */
  readonly cpr: string;
}

export interface MitIdBrokerOptions {
  readonly cert: string;
  readonly key: string;
  readonly citizens: readonly EmulatedCitizen[];
  /** Relying parties: client id → allowed redirect URIs. */
  readonly clients: Readonly<Record<string, readonly string[]>>;
  readonly host?: string;
  readonly port?: number;
  readonly idTokenTtlSeconds?: number;
}

export type MitIdBrokerEmulator = OidcProviderEmulator;

export const MitIdBrokerEmulator = {
  start: ({ citizens, ...o }: MitIdBrokerOptions): Promise<MitIdBrokerEmulator> =>
    OidcProviderEmulator.start({
      ...o,
      title: 'MitID via login-broker',
      subjects: citizens.map((c) => ({ sub: c.sub, label: c.label, claims: { cpr: c.cpr } })),
    }),
};

/** THROWAWAY demo citizens for `npm start`: made-up CPR numbers (the case system emulator knows them). */
export const DEMO_CITIZENS: readonly EmulatedCitizen[] = [
  { sub: 'demo-borger-vaerge', label: 'Vera Værge (forælder med forældremyndighed)', cpr: '0101859998' },
  { sub: 'demo-borger-anden', label: 'Anders Anden (ingen sager om barnet)', cpr: '0202759996' },
];
