/**
 * Bearer tokens from the municipal token service (Adgangsstyring STS, OAuth2 client credentials):
 * a JWT carrying the calling system (`sub`/`client_id`), the municipality it acts for
 * (`anvenderkontekst`, a CVR) and the system's privileges from the role model, each a role URI
 * with optional data constraints such as a KLE subject range. Verified with `jose` against the
 * issuer's JWKS (fetched again when a token names an unknown key: that is how key rotation
 * reaches the gateway), the issuer, the gateway's audience, expiry and a clock tolerance.
 */
import { request as httpsRequest } from 'node:https';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { Privilege } from '../caller.ts';
import { GatewayError } from '../errors.ts';

/** The role model's constraint name for KLE subject ranges. */
export const KLE_CONSTRAINT = 'urn:dk:kombit:KLE';

export interface TokenPrivilege {
  readonly privilege: string;
  readonly constraints?: readonly { readonly name: string; readonly value: string }[];
}

/** The claims the gateway reads from a token. */
export interface TokenClaims extends JWTPayload {
  readonly anvenderkontekst?: string;
  readonly client_id?: string;
  readonly privileges?: readonly TokenPrivilege[];
}

export interface VerifiedToken {
  readonly system: string;
  readonly cvr: string;
  readonly privileges: readonly Privilege[];
}

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** PEM of a private CA that signs the JWKS endpoint's certificate. */
  readonly jwksCa?: string;
  readonly clockToleranceSeconds: number;
  /** Role URI → gateway role name. Short names and `urn:dk:tillid:roles:<name>` map by default. */
  readonly roleUris: Readonly<Record<string, string>>;
  /** How soon an unknown key id may trigger another JWKS fetch (key rotation). */
  readonly jwksCooldownMs?: number;
}

/** `fetch` for a JWKS behind a private CA, on node:https so the CA applies to that one request. */
export function fetchWithCa(ca: string): FetchImplementation {
  return (url, options) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'GET',
          ca,
          headers: Object.fromEntries(new Headers(options.headers)),
          signal: options.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 }) as Response),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
}

export function roleName(uri: string, roleUris: Readonly<Record<string, string>>): string {
  const mapped = roleUris[uri];
  if (mapped) return mapped;
  const prefix = 'urn:dk:tillid:roles:';
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : uri;
}

export function privilegesFromClaims(
  claims: TokenClaims,
  roleUris: Readonly<Record<string, string>>,
): Privilege[] {
  const list = claims.privileges;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new GatewayError('TOKEN_INVALID', 'the privileges claim must be a list');
  return list.map((p) => {
    if (typeof p?.privilege !== 'string')
      throw new GatewayError('TOKEN_INVALID', 'a privilege without a role');
    const constraints: readonly { name: string; value: string }[] = p.constraints ?? [];
    const kle = constraints.filter((c) => c?.name === KLE_CONSTRAINT).map((c) => String(c.value));
    const role = roleName(p.privilege, roleUris);
    return kle.length > 0 ? { role, kle } : { role };
  });
}

/** Verified tokens are remembered this long at most (and never past their expiry). */
const CACHE_MS = 60_000;
const CACHE_LIMIT = 10_000;

export class TokenVerifier {
  readonly #options: TokenVerifierOptions;
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;
  /**
   * Tokens already verified, so a system calling many times with one token pays for one signature
   * check (it was a fifth of the gateway's CPU). An entry is used only while its key id is still
   * published: a JWKS refetch that drops a key drops its tokens too.
   */
  readonly #verified = new Map<string, { token: VerifiedToken; until: number; kid: string | undefined }>();
  #publishedKids = new Set<string | undefined>();

  constructor(options: TokenVerifierOptions) {
    this.#options = options;
    this.#jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.jwksCooldownMs ?? 1000,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5000,
      ...(options.jwksCa ? { [customFetch]: fetchWithCa(options.jwksCa) } : {}),
    });
  }

  async verify(token: string): Promise<VerifiedToken> {
    const hit = this.#verified.get(token);
    if (hit && Date.now() < hit.until && this.#publishedKids.has(hit.kid)) return hit.token;
    const verified = await this.#verifyFully(token);
    this.#publishedKids = new Set((this.#jwks.jwks()?.keys ?? []).map((k) => k.kid));
    if (this.#verified.size >= CACHE_LIMIT)
      this.#verified.delete(this.#verified.keys().next().value as string);
    const exp = (verified.exp ?? 0) * 1000 + this.#options.clockToleranceSeconds * 1000;
    this.#verified.set(token, {
      token: verified.token,
      until: Math.min(exp, Date.now() + CACHE_MS),
      kid: verified.kid,
    });
    return verified.token;
  }

  async #verifyFully(token: string): Promise<{ token: VerifiedToken; exp?: number; kid?: string }> {
    let payload: TokenClaims;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify<TokenClaims>(token, this.#jwks, {
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        clockTolerance: this.#options.clockToleranceSeconds,
        algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (e) {
      throw tokenError(e);
    }
    const system = payload.client_id ?? payload.sub;
    if (typeof system !== 'string' || system === '')
      throw new GatewayError('TOKEN_INVALID', 'the token names no calling system (sub or client_id)');
    const cvr = payload.anvenderkontekst;
    if (typeof cvr !== 'string' || !/^\d{8}$/.test(cvr))
      throw new GatewayError('TOKEN_NO_CVR', 'the token carries no anvenderkontekst (municipality CVR)');
    return {
      token: { system, cvr, privileges: privilegesFromClaims(payload, this.#options.roleUris) },
      ...(payload.exp !== undefined ? { exp: payload.exp } : {}),
      ...(kid !== undefined ? { kid } : {}),
    };
  }
}

function tokenError(e: unknown): GatewayError {
  if (e instanceof errors.JWTExpired) return new GatewayError('TOKEN_EXPIRED', 'the token has expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'aud')
      return new GatewayError('TOKEN_WRONG_AUDIENCE', 'the token is for another service');
    if (e.claim === 'iss')
      return new GatewayError('TOKEN_WRONG_ISSUER', 'the token is from an untrusted issuer');
    return new GatewayError('TOKEN_INVALID', `token claim ${e.claim}: ${e.reason}`);
  }
  if (e instanceof errors.JWKSNoMatchingKey)
    return new GatewayError('TOKEN_INVALID', 'the token is signed with a key the issuer does not publish');
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return new GatewayError('TOKEN_INVALID', 'the token signature does not verify');
  if (e instanceof errors.JOSEError)
    return new GatewayError('TOKEN_INVALID', `the token is not valid (${e.code})`);
  if (e instanceof GatewayError) return e;
  return new GatewayError('TOKEN_INVALID', 'the token could not be verified');
}
