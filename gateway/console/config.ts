/**
 * The `console` section of the gateway's configuration (gateway/console/plugin.ts reads it): the
 * staff identity provider (an OIDC broker in front of Context Handler) and the console's public
 * address, which the identity provider redirects back to.
 */
import { isUrlOf, need, positiveInteger, section } from '../config-check.ts';

export interface ConsoleConfig {
  /** The staff IdP's issuer; its discovery document is at `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  /** The gateway's address as browsers reach it, e.g. `https://tillid.kommune.dk`. */
  readonly publicUrl: string;
  /** PEM file of a private CA behind the IdP's HTTPS certificate. */
  readonly issuerCaFile?: string;
  /** Idle minutes before a console session ends; default 30. */
  readonly sessionMinutes?: number;
}

const KEYS = ['issuer', 'clientId', 'publicUrl', 'issuerCaFile', 'sessionMinutes'] as const;

export function consoleConfig(raw: unknown, path: (p: string) => string): ConsoleConfig {
  const c = section(raw, 'console', KEYS);
  need(isUrlOf(c.issuer, ['https:']), 'console.issuer must be an https URL');
  need(typeof c.clientId === 'string' && c.clientId !== '', 'console.clientId must be a string');
  need(isUrlOf(c.publicUrl, ['https:']), 'console.publicUrl must be an https URL');
  if (c.issuerCaFile !== undefined)
    need(typeof c.issuerCaFile === 'string' && c.issuerCaFile !== '', 'console.issuerCaFile must be a path');
  if (c.sessionMinutes !== undefined)
    need(positiveInteger(c.sessionMinutes), 'console.sessionMinutes must be a positive integer');
  return {
    issuer: (c.issuer as string).replace(/\/$/, ''),
    clientId: c.clientId,
    publicUrl: (c.publicUrl as string).replace(/\/$/, ''),
    ...(c.issuerCaFile ? { issuerCaFile: path(c.issuerCaFile) } : {}),
    ...(c.sessionMinutes !== undefined ? { sessionMinutes: c.sessionMinutes } : {}),
  };
}
