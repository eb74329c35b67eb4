/**
 * The citizens' routes under /borger: login through the citizen IdP (MitID via a broker), the
 * overview of the services agreed for them or the children in their custody (and the cases shared
 * with them by power of attorney), one case, logout; writing to the municipality and powers of
 * attorney have their own files (routes-messages.ts, routes-grants.ts) on the kit made here.
 * The CPR number from the ID token goes to the case system's `identify` and nowhere else: not in
 * the session (which holds the case system's opaque handle and a hash of the login subject), not
 * in a log line, not in a URL. A case reference not among the citizen's cases, now, is refused
 * (403 CASE_NOT_YOURS).
 */
import type { FastifyInstance } from 'fastify';
import { ERROR_DA } from '../console/danish.ts';
import { html } from '../console/html.ts';
import { access, type ConsoleKit, HEX64 } from '../console/kit.ts';
import { LoginError } from '../console/oidc.ts';
import { granteeOf } from './grants.ts';
import { CITIZEN_BASE, citizenCasePage, citizenHomePage, citizenLoginPage, serviceWords } from './pages.ts';
import { grantsSection, heldSection, messagesSection } from './pages-say.ts';
import { type CitizenDeps, citizenRouteKit } from './route-kit.ts';
import { registerGrantRoutes } from './routes-grants.ts';
import { registerMessageRoutes } from './routes-messages.ts';
import { accessLogOf, servicesOf } from './services.ts';

const CPR = /^\d{10}$/;

export function registerCitizenRoutes(app: FastifyInstance, k: ConsoleKit, d: CitizenDeps): void {
  const { c, page } = k;
  const { sessions, oidc, caseSystem, stores } = d;
  const ck = citizenRouteKit(k, d);
  const { mine, oneOf, sessionOf } = ck;

  app.get(`${CITIZEN_BASE}`, { config: access, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect(`${CITIZEN_BASE}/`, 303),
  );
  app.get(`${CITIZEN_BASE}/`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessions.of(request);
    if (!s) return page(reply, 200, citizenLoginPage());
    const { municipality, cases } = await mine(s);
    const services =
      cases.length === 0
        ? new Map()
        : await servicesOf(c, caseSystem, municipality, new Set(cases.map((x) => x.ref)));
    const held = stores.grants
      .ofGrantee(s.person.grantee)
      .map((grant) => ({ grant, state: stores.grants.stateOf(grant) }));
    return page(reply, 200, citizenHomePage(s, cases, services, heldSection(s, held)));
  });

  app.get<{ Params: { ref: string } }>(
    `${CITIZEN_BASE}/sager/:ref`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const { municipality, one } = await oneOf(s, request.params.ref);
      const services = (await servicesOf(c, caseSystem, municipality, new Set([one.ref]))).get(one.ref) ?? [];
      const log = await accessLogOf(c, caseSystem, municipality, one.ref);
      const sent = await stores.messages.of(one.ref);
      const given = stores.grants
        .ofCase(one.ref)
        .map((grant) => ({ grant, state: stores.grants.stateOf(grant) }));
      const { min, max } = stores.grants.untilRange();
      const more = html`${messagesSection(s, one.ref, services, sent, serviceWords)}${grantsSection(s, one.ref, given, max, min)}`;
      return page(reply, 200, citizenCasePage(s, one, services, log, c.accessLog?.erased(), more));
    },
  );

  registerMessageRoutes(app, ck);
  registerGrantRoutes(app, ck);

  app.get(`${CITIZEN_BASE}/login`, { config: access, schema: { hide: true } }, async (_request, reply) => {
    const { url, pending } = await oidc.begin();
    sessions.rememberLogin(reply, pending);
    return reply.redirect(url, 303);
  });

  app.get<{ Querystring: { code?: string; state?: string } }>(
    `${CITIZEN_BASE}/callback`,
    { config: access, schema: { hide: true } },
    async (request, reply) => {
      const pending = sessions.takeLogin(request, reply);
      const { code, state } = request.query;
      try {
        if (typeof code !== 'string' || typeof state !== 'string') throw new LoginError('no code');
        const claims = await oidc.claims(pending, code, state);
        if (typeof claims.cpr !== 'string' || !CPR.test(claims.cpr))
          throw new LoginError('the ID token asserts no CPR number');
        if (typeof claims.sub !== 'string' || claims.sub === '')
          throw new LoginError('the ID token names no subject');
        // A person the case system does not know has no cases, but may hold a grant (an adviser).
        const handle = await caseSystem.identify(claims.cpr);
        sessions.start(reply, { handle, grantee: granteeOf(d.issuer, claims.sub) });
        return reply.redirect(`${CITIZEN_BASE}/`, 303);
      } catch (e) {
        if (!(e instanceof LoginError)) throw e;
        // The reason is the client's own sentence: never a claim, a token or a CPR number.
        request.log.warn({ reason: e.message }, 'citizen login refused');
        return page(reply, 401, citizenLoginPage(`${ERROR_DA.LOGIN_FAILED} Start forfra.`));
      }
    },
  );

  app.post(`${CITIZEN_BASE}/logout`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessionOf(request);
    k.checkCsrf(request, s, ((request.body ?? {}) as { _csrf?: unknown })._csrf);
    sessions.end(request, reply);
    return reply.redirect(`${CITIZEN_BASE}/`, 303);
  });
}
