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
  /**
   * Where sessions are kept across restarts: a file encrypted under the key store passphrase
   * (console/session-file.ts). Without it sessions live in memory and a restart logs everyone out.
   */
  readonly sessionFile?: string;
  /**
   * The citizen IdP (MitID through an OIDC broker) for the citizens' pages under /borger
   * (gateway/citizens); its HTTPS certificate is checked against `issuerCaFile` too.
   */
  readonly citizenIssuer?: string;
  readonly citizenClientId?: string;
}

const KEYS = [
  'issuer',
  'clientId',
  'publicUrl',
  'issuerCaFile',
  'sessionMinutes',
  'sessionFile',
  'citizenIssuer',
  'citizenClientId',
] as const;

export function consoleConfig(raw: unknown, path: (p: string) => string): ConsoleConfig {
  const c = section(raw, 'console', KEYS);
  need(isUrlOf(c.issuer, ['https:']), 'console.issuer must be an https URL');
  need(typeof c.clientId === 'string' && c.clientId !== '', 'console.clientId must be a string');
  need(isUrlOf(c.publicUrl, ['https:']), 'console.publicUrl must be an https URL');
  if (c.issuerCaFile !== undefined)
    need(typeof c.issuerCaFile === 'string' && c.issuerCaFile !== '', 'console.issuerCaFile must be a path');
  if (c.sessionMinutes !== undefined)
    need(positiveInteger(c.sessionMinutes), 'console.sessionMinutes must be a positive integer');
  if (c.sessionFile !== undefined)
    need(typeof c.sessionFile === 'string' && c.sessionFile !== '', 'console.sessionFile must be a path');
  need(
    (c.citizenIssuer === undefined) === (c.citizenClientId === undefined),
    'console.citizenIssuer and console.citizenClientId go together',
  );
  if (c.citizenIssuer !== undefined)
    need(isUrlOf(c.citizenIssuer, ['https:']), 'console.citizenIssuer must be an https URL');
  if (c.citizenClientId !== undefined)
    need(
      typeof c.citizenClientId === 'string' && c.citizenClientId !== '',
      'console.citizenClientId must be a string',
    );
  return {
    issuer: (c.issuer as string).replace(/\/$/, ''),
    clientId: c.clientId,
    publicUrl: (c.publicUrl as string).replace(/\/$/, ''),
    ...(c.issuerCaFile ? { issuerCaFile: path(c.issuerCaFile) } : {}),
    ...(c.sessionMinutes !== undefined ? { sessionMinutes: c.sessionMinutes } : {}),
    ...(c.sessionFile ? { sessionFile: path(c.sessionFile as string) } : {}),
    ...(c.citizenIssuer !== undefined
      ? {
          citizenIssuer: (c.citizenIssuer as string).replace(/\/$/, ''),
          citizenClientId: c.citizenClientId as string,
        }
      : {}),
  };
}
