/**
 * Console sessions: an opaque random token in a `__Host-` cookie (HttpOnly, Secure,
 * SameSite=Strict, Path=/), the person and a CSRF token kept server side under the token's
 * SHA-256, ended after idle minutes, after MAX_SESSION_HOURS in any case, or at logout. With a
 * session file (`console.sessionFile`, session-file.ts: encrypted, durable) they survive a gateway
 * restart, and a logout is written before it is answered, so it stays one; without, they live in
 * memory and a restart logs everyone out. Login round trips (state, nonce, PKCE verifier) are kept
 * in memory under a short-lived cookie of their own: one under way at a restart starts over.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../caller.ts';
import type { PendingLogin, Person } from './oidc.ts';
import { SessionFile } from './session-file.ts';

/**
 * A person as the gateway's caller: the console is the "system", the person's organisation the
 * CVR, their privileges from the IdP. The actor pseudonym is derived from `person.sub`.
 */
export const personCaller = (person: Person, transactionId: string): Caller => ({
  system: 'console',
  cvr: person.cvr,
  privileges: person.privileges,
  via: 'person',
  transactionId,
});

export const SESSION_COOKIE = '__Host-tillid-konsol';
export const LOGIN_COOKIE = '__Host-tillid-login';
const MAX_SESSIONS = 10_000;
/** However active, a session ends this long after its login: the IdP's assertion is that old. */
export const MAX_SESSION_HOURS = 12;
/** Idle renewals are written to the session file at most this often (logins and logouts at once). */
const RENEWAL_WRITE_MS = 5_000;

/** Who a session belongs to: a staff person (the console), or a citizen's opaque handle (gateway/citizens). */
export interface Session<P = Person> {
  /** SHA-256 of the cookie's token: the key it is kept (and persisted) under, never the token. */
  readonly id: string;
  readonly person: P;
  readonly csrf: string;
  expires: number;
  /** When the session must end whatever its activity (ms since the epoch). */
  readonly endsBy: number;
}

const keyOf = (token: string) => createHash('sha256').update(token).digest('hex');

export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const setCookie = (reply: FastifyReply, name: string, value: string, maxAgeSeconds: number) =>
  reply.header(
    'set-cookie',
    `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`,
  );

/** Equal strings, compared in constant time. */
export const sameSecret = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class Sessions<P = Person> {
  readonly #idleMs: number;
  readonly #sessions = new Map<string, Session<P>>();
  readonly #logins = new Map<string, PendingLogin>();
  readonly #cookie: string;
  readonly #loginCookie: string;
  readonly #file: SessionFile<Session<P>> | undefined;
  #renewalWrite: NodeJS.Timeout | undefined;

  /**
   * Cookie names default to the console's; the citizens' pages keep sessions of their own. With
   * `file`, sessions are kept in that encrypted file (under `passphrase`) across restarts.
   */
  constructor(
    idleMinutes: number,
    cookies: { session: string; login: string } = { session: SESSION_COOKIE, login: LOGIN_COOKIE },
    file?: { path: string; passphrase: string },
  ) {
    this.#idleMs = idleMinutes * 60_000;
    this.#cookie = cookies.session;
    this.#loginCookie = cookies.login;
    if (file) {
      this.#file = new SessionFile<Session<P>>(file.path, file.passphrase);
      const now = Date.now();
      for (const s of this.#file.load())
        if (s.expires >= now && s.endsBy >= now && /^[0-9a-f]{64}$/.test(s.id)) this.#sessions.set(s.id, s);
    }
  }

  /** Whether a session file existed but could not be read with the passphrase (so was not used). */
  get fileUnreadable(): boolean {
    return this.#file?.unreadable ?? false;
  }

  /** The request's live session, its idle timer renewed; undefined when none or expired. */
  of(request: FastifyRequest): Session<P> | undefined {
    const token = cookieOf(request, this.#cookie);
    if (!token) return undefined;
    const id = keyOf(token);
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const now = Date.now();
    if (s.expires < now || s.endsBy < now) {
      this.#sessions.delete(id);
      this.#save();
      return undefined;
    }
    s.expires = Math.min(now + this.#idleMs, s.endsBy);
    this.#saveSoon();
    return s;
  }

  /** The request's person as a caller, for the routes people may call outside the console. */
  callerOf(this: Sessions<Person>, request: FastifyRequest): Caller | undefined {
    const s = this.of(request);
    return s ? personCaller(s.person, request.transactionId) : undefined;
  }

  start(reply: FastifyReply, person: P): Session<P> {
    this.#sweep();
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const s: Session<P> = {
      id: keyOf(token),
      person,
      csrf: randomBytes(32).toString('base64url'),
      expires: now + this.#idleMs,
      endsBy: now + MAX_SESSION_HOURS * 3_600_000,
    };
    this.#sessions.set(s.id, s);
    this.#save();
    setCookie(reply, this.#cookie, token, Math.ceil(this.#idleMs / 1000));
    return s;
  }

  /** Logout: the session is gone — from the file too — before the answer leaves. */
  end(request: FastifyRequest, reply: FastifyReply): void {
    const token = cookieOf(request, this.#cookie);
    if (token && this.#sessions.delete(keyOf(token))) this.#save();
    setCookie(reply, this.#cookie, '', 0);
  }

  /** Writes a pending idle renewal now (the gateway is closing). */
  flush(): void {
    if (this.#renewalWrite) this.#save();
  }

  #save(): void {
    if (this.#renewalWrite) clearTimeout(this.#renewalWrite);
    this.#renewalWrite = undefined;
    this.#file?.save([...this.#sessions.values()]);
  }

  /** An idle renewal only moves an expiry later: written within RENEWAL_WRITE_MS, not per request. */
  #saveSoon(): void {
    if (!this.#file || this.#renewalWrite) return;
    this.#renewalWrite = setTimeout(() => {
      try {
        this.#save();
      } catch {
        // A renewal not written only shortens a session after a restart; the next write retries.
      }
    }, RENEWAL_WRITE_MS);
    this.#renewalWrite.unref();
  }

  rememberLogin(reply: FastifyReply, pending: PendingLogin): void {
    this.#sweep();
    const id = randomBytes(32).toString('base64url');
    this.#logins.set(id, pending);
    setCookie(reply, this.#loginCookie, id, 600);
  }

  /** The pending login of this browser, forgotten as it is taken (a code is used once). */
  takeLogin(request: FastifyRequest, reply: FastifyReply): PendingLogin | undefined {
    const id = cookieOf(request, this.#loginCookie);
    if (!id) return undefined;
    const pending = this.#logins.get(id);
    this.#logins.delete(id);
    setCookie(reply, this.#loginCookie, '', 0);
    return pending;
  }

  /** Drops expired entries; beyond the cap, the oldest go first (Map keeps insertion order). */
  #sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.#sessions) if (s.expires < now || s.endsBy < now) this.#sessions.delete(id);
    for (const [id, l] of this.#logins) if (l.expires < now) this.#logins.delete(id);
    for (const map of [this.#sessions, this.#logins] as Map<string, unknown>[])
      while (map.size >= MAX_SESSIONS) map.delete(map.keys().next().value as string);
  }
}
