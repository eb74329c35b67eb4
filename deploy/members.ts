/** A member municipality as the deployment generators (compose, bundles, Kubernetes) take it. */
export interface Member {
  name: string;
  cvr: string;
  publicKey: string;
  /** DNS name or IP other municipalities reach this node at (p2p on TCP 7201, API on 7101). */
  host: string;
  /** The p2p and API ports, when not 7201 and 7101 (bundles only; a node on its own host needs no other). */
  p2pPort?: number;
  apiPort?: number;
  role?: 'authority' | 'observer';
  /** The municipality's own gateway, configured for its real infrastructure (bundles only). */
  gateway?: MemberGateway;
}

/**
 * A municipality's gateway as its bundle configures it: the municipal token service, the CA of
 * the organisation and system certificates its callers present, and the service agreements.
 * File paths are read when the bundle is generated and copied into it.
 */
export interface MemberGateway {
  /** DNS name case systems call the gateway at (its TLS certificate names it); default the node's host. */
  host?: string;
  token?: { issuer: string; audience: string; jwksUrl: string; jwksCaFile?: string };
  /** PEM files: the CAs of organisation/system certificates (OCES3) allowed for mutual TLS. */
  clientCaFiles?: string[];
  /** Which calling system may use which service on this municipality's behalf. */
  agreements?: { system: string; service: string }[];
  certificatePrivileges?: unknown[];
  roleUris?: Record<string, string>;
  providers?: string[];
}

/** A directory (and DNS) name from a municipality's name: lower case, æøå spelled out. */
export const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export const pad = (i: number) => String(i).padStart(2, '0');

export const municipality = (i: number) => ({ name: `Kommune ${pad(i)}`, cvr: String(29189846 + i - 1) });

/** The municipalities of a `central` network: they run no node and reach it through the gateway. */
