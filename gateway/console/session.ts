/**
 * Console sessions: an opaque random id in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict,
 * Path=/), the person and a CSRF token kept server side, ended after idle minutes or at logout.
 * In memory: a gateway restart logs everyone out, which is the safe direction. Login round trips
 * (state, nonce, PKCE verifier) are kept the same way under a short-lived cookie of their own.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../caller.ts';
import type { PendingLogin, Person } from './oidc.ts';

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

/** Who a session belongs to: a staff person (the console), or a citizen's opaque handle (gateway/citizens). */
export interface Session<P = Person> {
  readonly id: string;
  readonly person: P;
  readonly csrf: string;
  expires: number;
}

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

  /** Cookie names default to the console's; the citizens' pages keep sessions of their own. */
  constructor(
    idleMinutes: number,
    cookies: { session: string; login: string } = { session: SESSION_COOKIE, login: LOGIN_COOKIE },
  ) {
    this.#idleMs = idleMinutes * 60_000;
    this.#cookie = cookies.session;
    this.#loginCookie = cookies.login;
  }

  /** The request's live session, its idle timer renewed; undefined when none or expired. */
  of(request: FastifyRequest): Session<P> | undefined {
    const id = cookieOf(request, this.#cookie);
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.expires = Date.now() + this.#idleMs;
    return s;
  }

  /** The request's person as a caller, for the routes people may call outside the console. */
  callerOf(this: Sessions<Person>, request: FastifyRequest): Caller | undefined {
    const s = this.of(request);
    return s ? personCaller(s.person, request.transactionId) : undefined;
  }

  start(reply: FastifyReply, person: P): Session<P> {
    this.#sweep();
    const s: Session<P> = {
      id: randomBytes(32).toString('base64url'),
      person,
      csrf: randomBytes(32).toString('base64url'),
      expires: Date.now() + this.#idleMs,
    };
    this.#sessions.set(s.id, s);
    setCookie(reply, this.#cookie, s.id, Math.ceil(this.#idleMs / 1000));
    return s;
  }

  end(request: FastifyRequest, reply: FastifyReply): void {
    const id = cookieOf(request, this.#cookie);
    if (id) this.#sessions.delete(id);
    setCookie(reply, this.#cookie, '', 0);
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
    for (const [id, s] of this.#sessions) if (s.expires < now) this.#sessions.delete(id);
    for (const [id, l] of this.#logins) if (l.expires < now) this.#logins.delete(id);
    for (const map of [this.#sessions, this.#logins] as Map<string, unknown>[])
      while (map.size >= MAX_SESSIONS) map.delete(map.keys().next().value as string);
  }
}
