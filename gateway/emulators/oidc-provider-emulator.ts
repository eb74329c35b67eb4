/**
 * EMULATOR core of an OpenID Connect provider (not for production), shared by the clearly named
 * emulators of the identity providers the gateway meets: the staff broker in front of KOMBIT's
 * Context Handler (context-handler-oidc.ts) and the citizen broker in front of MitID
 * (mitid-broker-oidc.ts). It speaks the protocol's real shape: discovery, authorization code with
 * PKCE (S256 only), single-use codes bound to client, redirect URI and verifier, a signed ID token
 * (ES256, `jose`) and a JWKS. Instead of a real login it shows a page to pick a test subject.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { escapeHtml } from '../console/html.ts';

/** A subject the emulator can assert: its `sub`, what the picker shows, and the token's other claims. */
export interface EmulatedSubject {
  readonly sub: string;
  readonly label: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface OidcProviderEmulatorOptions {
  /** Named on the picker page, after "EMULATOR af". */
  readonly title: string;
  readonly cert: string;
  readonly key: string;
  readonly subjects: readonly EmulatedSubject[];
  /** Relying parties: client id → allowed redirect URIs. */
  readonly clients: Readonly<Record<string, readonly string[]>>;
  readonly host?: string;
  readonly port?: number;
  readonly idTokenTtlSeconds?: number;
}

interface PendingCode {
  readonly person: EmulatedSubject;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce: string;
  readonly expires: number;
}

const CODE_TTL_MS = 60_000;

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
type Answer = [status: number, headers: Record<string, string>, body: string];

const page = (title: string, body: string) =>
  `<!doctype html><html lang="da"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main>${body}</main></body></html>`;

export class OidcProviderEmulator {
  readonly #server: Server;
  readonly #title: string;
  readonly #persons: Map<string, EmulatedSubject>;
  readonly #clients: Readonly<Record<string, readonly string[]>>;
  readonly #ttl: number;
  readonly #codes = new Map<string, PendingCode>();
  #key!: { kid: string; privateKey: SigningKey; jwk: JWK };
  #url = '';

  private constructor(o: OidcProviderEmulatorOptions) {
    this.#title = o.title;
    this.#persons = new Map(o.subjects.map((p) => [p.sub, p]));
    this.#clients = o.clients;
    this.#ttl = o.idTokenTtlSeconds ?? 300;
    this.#server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
        if (body.length > 16_384) req.destroy();
      });
      req.on('end', () => {
        this.#handle(req.method ?? 'GET', url, new URLSearchParams(body)).then(
          ([status, headers, out]) => answer(status, headers, out),
          () => answer(500, { 'content-type': 'application/json' }, '{"error":"server_error"}'),
        );
      });
      const answer = (status: number, headers: Record<string, string>, out: string) => {
        res.writeHead(status, {
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'none'; form-action 'self' https:; frame-ancestors 'none'",
          ...headers,
        });
        res.end(out);
      };
    });
  }

  static async start(o: OidcProviderEmulatorOptions): Promise<OidcProviderEmulator> {
    const e = new OidcProviderEmulator(o);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    e.#key = { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
    await new Promise<void>((resolve, reject) => {
      e.#server.once('error', reject);
      e.#server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve);
    });
    const { port } = e.#server.address() as AddressInfo;
    e.#url = `https://localhost:${port}`;
    return e;
  }

  /** The issuer (`iss`) and discovery base. */
  get issuer(): string {
    return this.#url;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  async #handle(method: string, url: URL, form: URLSearchParams): Promise<Answer> {
    const json = (status: number, v: unknown): Answer => [
      status,
      { 'content-type': 'application/json' },
      JSON.stringify(v),
    ];
    if (method === 'GET' && url.pathname === '/.well-known/openid-configuration')
      return json(200, {
        issuer: this.#url,
        authorization_endpoint: `${this.#url}/authorize`,
        token_endpoint: `${this.#url}/token`,
        jwks_uri: `${this.#url}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['ES256'],
        subject_types_supported: ['pairwise'],
      });
    if (method === 'GET' && url.pathname === '/jwks') return json(200, { keys: [this.#key.jwk] });
    if (url.pathname === '/authorize')
      return this.#authorize(method, method === 'GET' ? url.searchParams : form);
    if (method === 'POST' && url.pathname === '/token') return this.#token(form);
    return json(404, { error: 'not_found' });
  }

  /** GET shows the person picker; POST (the picker's form) issues a code to the redirect URI. */
  #authorize(method: string, q: URLSearchParams): Answer {
    const htmlAnswer = (status: number, text: string): Answer => [
      status,
      { 'content-type': 'text/html; charset=utf-8' },
      page('Fejl ved login', `<h1>Login afvist</h1><p>${escapeHtml(text)}</p>`),
    ];
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    // Never redirect to a URI the client did not register: errors before that are shown here.
    if (!this.#clients[clientId]?.includes(redirectUri))
      return htmlAnswer(400, 'Ukendt klient eller omdirigerings-adresse.');
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256')
      return htmlAnswer(400, 'Kun autorisationskode med PKCE (S256) understøttes.');
    const challenge = q.get('code_challenge') ?? '';
    const state = q.get('state') ?? '';
    const nonce = q.get('nonce') ?? '';
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge) || state === '' || nonce === '')
      return htmlAnswer(400, 'code_challenge, state og nonce skal sendes.');
    if (method === 'GET') {
      const hidden = [
        'client_id',
        'redirect_uri',
        'response_type',
        'code_challenge',
        'code_challenge_method',
        'state',
        'nonce',
        'scope',
      ]
        .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q.get(k) ?? '')}">`)
        .join('');
      const options = [...this.#persons.values()]
        .map(
          (p, i) =>
            `<div><input type="radio" name="person" id="p${i}" value="${escapeHtml(p.sub)}"${i === 0 ? ' checked' : ''}><label for="p${i}">${escapeHtml(p.label)}</label></div>`,
        )
        .join('');
      return [
        200,
        { 'content-type': 'text/html; charset=utf-8' },
        page(
          `Emulator: ${this.#title}`,
          `<h1>EMULATOR af ${escapeHtml(this.#title)} (kun test)</h1><p>Vælg en testperson at logge ind som.</p><form method="post" action="/authorize">${hidden}<fieldset><legend>Testperson</legend>${options}</fieldset><button type="submit">Log ind</button></form>`,
        ),
      ];
    }
    const person = this.#persons.get(q.get('person') ?? '');
    if (!person) return htmlAnswer(400, 'Ukendt testperson.');
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, {
      person,
      clientId,
      redirectUri,
      challenge,
      nonce,
      expires: Date.now() + CODE_TTL_MS,
    });
    const to = new URL(redirectUri);
    to.searchParams.set('code', code);
    to.searchParams.set('state', state);
    return [303, { location: to.toString() }, ''];
  }

  /** The code for an ID token: single use, bound to client, redirect URI and PKCE verifier. */
  async #token(form: URLSearchParams): Promise<Answer> {
    const fail = (error: string): Answer => [
      400,
      { 'content-type': 'application/json' },
      JSON.stringify({ error }),
    ];
    if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type');
    const code = form.get('code') ?? '';
    const pending = this.#codes.get(code);
    this.#codes.delete(code);
    if (!pending || pending.expires < Date.now()) return fail('invalid_grant');
    if (pending.clientId !== form.get('client_id') || pending.redirectUri !== form.get('redirect_uri'))
      return fail('invalid_grant');
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge)
      return fail('invalid_grant');
    const idToken = await this.#sign(pending);
    return [
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ token_type: 'Bearer', id_token: idToken, expires_in: this.#ttl }),
    ];
  }

  async #sign(p: PendingCode): Promise<string> {
    return new SignJWT({ ...p.person.claims, nonce: p.nonce })
      .setProtectedHeader({ alg: 'ES256', kid: this.#key.kid, typ: 'JWT' })
      .setIssuer(this.#url)
      .setAudience(p.clientId)
      .setSubject(p.person.sub)
      .setIssuedAt()
      .setExpirationTime(`${this.#ttl}s`)
      .sign(this.#key.privateKey);
  }
}
