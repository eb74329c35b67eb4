/**
 * The console's OpenID Connect client for staff login: authorization code with PKCE (S256),
 * `state` and `nonce`, and an ID token verified with `jose` against the issuer's JWKS (issuer,
 * audience, expiry, nonce). The verified claims become a `Person`: subject, name, organisation CVR
 * and privileges (role URIs mapped as for tokens, KLE constraints kept).
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { fetchWithCa, privilegesFromClaims, type TokenClaims } from '../auth/token.ts';
import type { Privilege } from '../caller.ts';

export interface Person {
  /** The IdP's subject: a stable pseudonymous id of the person (never a CPR number). */
  readonly sub: string;
  readonly name: string;
  readonly cvr: string;
  /** The unit within the organisation (as the IdP asserts it), named in the access log. */
  readonly unit?: string;
  readonly privileges: readonly Privilege[];
}

/** What the browser's login round trip must bring back (kept server side, keyed by a cookie). */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly expires: number;
}

export class LoginError extends Error {}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
}

export interface OidcClientOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly ca?: string;
  /** Role URIs of the staff IdP's privileges; a citizen IdP asserts none. */
  readonly roleUris?: Readonly<Record<string, string>>;
}

const LOGIN_TTL_MS = 10 * 60_000;
const random = () => randomBytes(32).toString('base64url');

export class OidcClient {
  readonly #o: OidcClientOptions;
  #discovery?: Promise<Discovery>;
  #jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(o: OidcClientOptions) {
    this.#o = o;
  }

  #discover(): Promise<Discovery> {
    this.#discovery ??= this.#http('GET', `${this.#o.issuer}/.well-known/openid-configuration`).then(
      ([status, body]) => {
        if (status !== 200) throw new LoginError(`identity provider discovery answered ${status}`);
        return JSON.parse(body) as Discovery;
      },
    );
    // A failed discovery is retried at the next login rather than remembered.
    this.#discovery.catch(() => {
      this.#discovery = undefined;
    });
    return this.#discovery;
  }

  /** A new login: where to send the browser, and what to keep until it returns. */
  async begin(): Promise<{ url: string; pending: PendingLogin }> {
    const d = await this.#discover();
    const pending = {
      state: random(),
      nonce: random(),
      verifier: random(),
      expires: Date.now() + LOGIN_TTL_MS,
    };
    const url = new URL(d.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.#o.clientId,
      redirect_uri: this.#o.redirectUri,
      scope: 'openid',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.toString(), pending };
  }

  /** The browser came back with `code` and `state`: exchange, verify, and say who logged in. */
  async finish(pending: PendingLogin | undefined, code: string, state: string): Promise<Person> {
    const claims = await this.claims(pending, code, state);
    if (typeof claims.cvr !== 'string' || !/^\d{8}$/.test(claims.cvr))
      throw new LoginError('the ID token names no organisation (cvr)');
    let privileges: Privilege[];
    try {
      privileges = privilegesFromClaims(claims, this.#o.roleUris ?? {});
    } catch {
      throw new LoginError('the ID token carries malformed privileges');
    }
    return {
      sub: claims.sub,
      name: typeof claims.name === 'string' ? claims.name.slice(0, 200) : '',
      cvr: claims.cvr,
      ...(typeof claims.unit === 'string' && claims.unit !== '' ? { unit: claims.unit.slice(0, 100) } : {}),
      privileges,
    };
  }

  /**
   * The code exchanged and the ID token verified (signature by the issuer's JWKS, issuer,
   * audience, expiry, nonce, a subject): its claims, for a login kind to read its own from.
   */
  async claims(
    pending: PendingLogin | undefined,
    code: string,
    state: string,
  ): Promise<TokenClaims & { sub: string; [claim: string]: unknown }> {
    if (!pending || pending.expires < Date.now() || pending.state !== state)
      throw new LoginError('the login is unknown, expired or was started in another browser');
    const d = await this.#discover();
    const [status, body] = await this.#http(
      'POST',
      d.token_endpoint,
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.#o.redirectUri,
        client_id: this.#o.clientId,
        code_verifier: pending.verifier,
      }).toString(),
    );
    if (status !== 200) throw new LoginError(`the identity provider refused the code (${status})`);
    const idToken = (JSON.parse(body) as { id_token?: unknown }).id_token;
    if (typeof idToken !== 'string') throw new LoginError('no ID token in the answer');
    this.#jwks ??= createRemoteJWKSet(new URL(d.jwks_uri), {
      ...(this.#o.ca ? { [customFetch]: fetchWithCa(this.#o.ca) } : {}),
    });
    let claims: TokenClaims & { nonce?: unknown; name?: unknown; cvr?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(idToken, this.#jwks, {
        issuer: this.#o.issuer,
        audience: this.#o.clientId,
        algorithms: ['ES256', 'RS256'],
        clockTolerance: 5,
      }));
    } catch (e) {
      throw new LoginError(`the ID token did not verify (${(e as Error).message})`);
    }
    if (claims.nonce !== pending.nonce) throw new LoginError('the ID token is for another login (nonce)');
    if (typeof claims.sub !== 'string' || claims.sub === '')
      throw new LoginError('the ID token names no person');
    return claims as TokenClaims & { sub: string; [claim: string]: unknown };
  }

  #http(method: string, url: string, body?: string): Promise<[number, string]> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          ...(this.#o.ca ? { ca: this.#o.ca } : {}),
          headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            if (text.length > 65_536) req.destroy(new LoginError('identity provider answer too large'));
          });
          res.on('end', () => resolve([res.statusCode ?? 500, text]));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new LoginError('identity provider did not answer')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
