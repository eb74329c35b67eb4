/**
 * The console's own files, the start page, and a person's login round trip and logout.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ERROR_DA } from './danish.ts';
import { access, type ConsoleKit } from './kit.ts';
import { LoginError } from './oidc.ts';
import { homePage, loginPage } from './pages/home.ts';
import { BASE } from './pages/layout.ts';

const STATIC: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  (
    [
      ['konsol.css', 'text/css; charset=utf-8'],
      ['konsol.js', 'text/javascript; charset=utf-8'],
    ] as const
  ).map(([name, type]) => [name, { type, body: readFileSync(new URL(`./static/${name}`, import.meta.url)) }]),
);

export function registerSessionRoutes(app: FastifyInstance, k: ConsoleKit): void {
  const { sessions, oidc, page, callerOf, formOf, summariesOf, withinKle } = k;
  app.get(`${BASE}/static/:file`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const file = STATIC[(request.params as { file: string }).file];
    if (!file) return reply.code(404).type('text/plain').send('ikke fundet');
    return reply.header('cache-control', 'public, max-age=300').type(file.type).send(file.body);
  });

  app.get(`${BASE}`, { config: access, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect(`${BASE}/`, 303),
  );
  app.get(`${BASE}/`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessions.of(request);
    if (!s) return page(reply, 200, loginPage());
    const caller = callerOf(request, s);
    const { shown, outsideKle } = withinKle(caller, await summariesOf(caller));
    return page(reply, 200, homePage(s, shown, outsideKle));
  });

  app.get(`${BASE}/login`, { config: access, schema: { hide: true } }, async (_request, reply) => {
    const { url, pending } = await oidc.begin();
    sessions.rememberLogin(reply, pending);
    return reply.redirect(url, 303);
  });

  app.get<{ Querystring: { code?: string; state?: string; error?: string } }>(
    `${BASE}/callback`,
    { config: access, schema: { hide: true } },
    async (request, reply) => {
      const pending = sessions.takeLogin(request, reply);
      const { code, state } = request.query;
      try {
        if (typeof code !== 'string' || typeof state !== 'string') throw new LoginError('no code');
        const person = await oidc.finish(pending, code, state);
        sessions.start(reply, person);
        return reply.redirect(`${BASE}/`, 303);
      } catch (e) {
        if (!(e instanceof LoginError)) throw e;
        request.log.warn({ reason: e.message }, 'console login refused');
        return page(reply, 401, loginPage(`${ERROR_DA.LOGIN_FAILED} Start forfra.`));
      }
    },
  );

  app.post(`${BASE}/logout`, { config: access, schema: { hide: true } }, async (request, reply) => {
    formOf(request);
    sessions.end(request, reply);
    return reply.redirect(`${BASE}/`, 303);
  });
}
