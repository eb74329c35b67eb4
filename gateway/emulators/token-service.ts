/**
 * EMULATOR of the municipal token service (Adgangsstyring STS, OAuth2 client-credentials
 * endpoint), for tests, the demo and docker. Never a security component: it trusts a test CA.
 *
 *   POST /oauth2/token   over mutual TLS with a system certificate;
 *                        form: grant_type=client_credentials&scope=entityid:<service>,anvenderkontekst:<CVR>
 *                        → { access_token, token_type: "Bearer", expires_in, scope }
 *   GET  /jwks           the public keys tokens are signed with (current and recently retired)
 *
 * The token: `iss`, `aud` (= the service's entity id), `sub` and `client_id` (= the calling
 * system: its certificate's serialNumber), `anvenderkontekst` (the CVR), `privileges` (the role
 * model's privileges the municipality granted the system: `{ privilege, constraints? }`, a KLE
 * constraint named `urn:dk:kombit:KLE`), `iat`, `exp`, `jti`. Grants are configured per system
 * and CVR, as a municipality's administrator assigns them; a system asking for a CVR it has no
 * grant for gets `invalid_scope`. `rotateKey()` starts signing with a new key (kid) and keeps the
 * old one published until `retire`.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { identityFromCertificate } from '../auth/certificate.ts';
import type { TokenPrivilege } from '../auth/token.ts';

export interface TokenServiceOptions {
  /** TLS server certificate and key (PEM), e.g. from TestCa.issueServer(). */
  readonly cert: string;
  readonly key: string;
  /** CA certificates (PEM) trusted for client certificates. */
  readonly clientCa: readonly string[];
  readonly host?: string;
  readonly port?: number;
  readonly issuer?: string;
  readonly tokenTtlSeconds?: number;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

type CryptoKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export class TokenServiceEmulator {
  readonly issuer: string;
  #url = '';
  readonly #server: Server;
  readonly #ttl: number;
  #keys: SigningKey[] = [];
  /** system id → CVR → privileges granted. */
  readonly #grants = new Map<string, Map<string, readonly TokenPrivilege[]>>();
  /** Counts issued tokens, for tests and the demo. */
  issued = 0;

  private constructor(o: TokenServiceOptions) {
    this.issuer = o.issuer ?? 'https://sts.emulator.tillid.invalid';
    this.#ttl = o.tokenTtlSeconds ?? 300;
    this.#server = createServer(
      { cert: o.cert, key: o.key, ca: [...o.clientCa], requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(body));
        };
        const url = new URL(req.url ?? '/', 'https://localhost');
        if (req.method === 'GET' && url.pathname === '/jwks')
          return send(200, { keys: this.#keys.map((k) => k.jwk) });
        if (req.method !== 'POST' || url.pathname !== '/oauth2/token')
          return send(404, { error: 'not_found' });
        let body = '';
        req.on('data', (chunk) => {
          body += chunk;
          if (body.length > 4096) req.destroy();
        });
        req.on('end', () => {
          this.#token(req.socket as TLSSocket, new URLSearchParams(body)).then(
            ([status, answer]) => send(status, answer),
            () => send(500, { error: 'server_error' }),
          );
        });
      },
    );
  }

  static async start(o: TokenServiceOptions): Promise<TokenServiceEmulator> {
    const emulator = new TokenServiceEmulator(o);
    emulator.#keys = [await newKey()];
    await new Promise<void>((resolve, reject) => {
      emulator.#server.once('error', reject);
      emulator.#server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve);
    });
    const { port } = emulator.#server.address() as AddressInfo;
    emulator.#url = `https://${o.host === undefined || o.host === '127.0.0.1' ? 'localhost' : o.host}:${port}`;
    return emulator;
  }

  get url(): string {
    return this.#url;
  }
  get tokenUrl(): string {
    return `${this.#url}/oauth2/token`;
  }
  get jwksUrl(): string {
    return `${this.#url}/jwks`;
  }

  /** What a municipality's administrator grants: `system` may act for `cvr` with `privileges`. */
  grant(system: string, cvr: string, privileges: readonly TokenPrivilege[]): void {
    const forSystem = this.#grants.get(system) ?? new Map();
    forSystem.set(cvr, privileges);
    this.#grants.set(system, forSystem);
  }

  /** Signs with a new key from now on; the old one stays published unless `retire` is set. */
  async rotateKey(o: { retire?: boolean } = {}): Promise<string> {
    const key = await newKey();
    this.#keys = o.retire ? [key] : [key, ...this.#keys].slice(0, 3);
    return key.kid;
  }

  /** Signs arbitrary claims with the current key (tests use it to make bad tokens on purpose). */
  async sign(claims: JWTPayload, o: { kid?: string; key?: CryptoKey } = {}): Promise<string> {
    const current = this.#keys[0] as SigningKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? current.kid, typ: 'JWT' })
      .sign(o.key ?? current.privateKey);
  }

  async #token(socket: TLSSocket, form: URLSearchParams): Promise<[number, unknown]> {
    const peer = socket.getPeerX509Certificate?.();
    if (!peer || !socket.authorized)
      return [401, { error: 'invalid_client', error_description: 'present a trusted system certificate' }];
    if (form.get('grant_type') !== 'client_credentials') return [400, { error: 'unsupported_grant_type' }];
    const scope = form.get('scope') ?? '';
    const match = /^entityid:([^,\s]+),anvenderkontekst:(\d{8})$/.exec(scope);
    if (!match)
      return [
        400,
        { error: 'invalid_scope', error_description: 'scope=entityid:<service>,anvenderkontekst:<CVR>' },
      ];
    const [, service, cvr] = match as unknown as [string, string, string];
    const { system } = identityFromCertificate(new X509Certificate(peer.raw));
    const privileges = this.#grants.get(system)?.get(cvr);
    if (!privileges)
      return [400, { error: 'invalid_scope', error_description: `no grant for ${system} in CVR ${cvr}` }];
    const now = Math.floor(Date.now() / 1000);
    const token = await this.sign({
      iss: this.issuer,
      aud: service,
      sub: system,
      client_id: system,
      anvenderkontekst: cvr,
      privileges: privileges as unknown as JWTPayload[],
      scope,
      iat: now,
      nbf: now,
      exp: now + this.#ttl,
      jti: randomUUID(),
    });
    this.issued++;
    return [200, { access_token: token, token_type: 'Bearer', expires_in: this.#ttl, scope }];
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}

/** A support system's side: get a token over mutual TLS with its system certificate. */
export function requestToken(o: {
  tokenUrl: string;
  cert: string;
  key: string;
  /** CA that signed the token service's server certificate. */
  ca: string;
  service: string;
  cvr: string;
}): Promise<{ status: number; body: { access_token?: string; error?: string; error_description?: string } }> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: `entityid:${o.service},anvenderkontekst:${o.cvr}`,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      o.tokenUrl,
      {
        method: 'POST',
        cert: o.cert,
        key: o.key,
        ca: o.ca,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(form),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}
