/**
 * The web console (issue 16), served by the gateway under /konsol: server-rendered HTML (html.ts
 * escapes everything), one stylesheet and one script as files (the CSP allows no inline code), a
 * person's login through the staff identity provider (oidc.ts), sessions and CSRF tokens
 * (session.ts). Its routes are "public" to the gateway's system authentication because they
 * authenticate the person themselves; each sets `request.caller` from the session, so
 * authorisation (authorization.ts), signing (submission.ts) and audit are the gateway's own, and
 * an approval's actor is HMAC(secret, the person's subject): two people are two actors because
 * the identity provider says so.
 */
import { readFileSync } from 'node:fs';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { CITIZEN_BASE, citizenLayout } from '../citizens/pages.ts';
import { registerCitizenRoutes } from '../citizens/routes.ts';
import type { Citizen } from '../citizens/services.ts';
import { entryOf } from '../plugins/audit.ts';
import { html } from './html.ts';
import { type ConsoleComponents, consoleKit } from './kit.ts';
import { OidcClient } from './oidc.ts';
import { BASE, errorBody, layout } from './pages/layout.ts';
import { consoleRefusal } from './refusal.ts';
import { registerAmendRoute } from './routes-amend.ts';
import { registerAuditRoutes } from './routes-audit.ts';
import { registerCaseRoutes } from './routes-case.ts';
import { registerContractRoutes } from './routes-contract.ts';
import { registerNetworkRoute } from './routes-network.ts';
import { registerPaymentsRoute } from './routes-payments.ts';
import { registerSessionRoutes } from './routes-session.ts';
import { Sessions } from './session.ts';

export async function consolePlugin(app: FastifyInstance, c: ConsoleComponents): Promise<void> {
  const cfg = c.config.console;
  const sessions = c.sessions;
  if (!cfg || !sessions) return;
  const origin = new URL(cfg.publicUrl).origin;
  const ca = cfg.issuerCaFile ? { ca: readFileSync(cfg.issuerCaFile, 'utf8') } : {};
  const oidc = new OidcClient({
    issuer: cfg.issuer,
    clientId: cfg.clientId,
    redirectUri: `${cfg.publicUrl}${BASE}/callback`,
    ...ca,
    roleUris: c.config.roleUris,
  });
  // The citizens' pages (gateway/citizens): their own IdP, their own sessions and cookie.
  const citizens =
    cfg.citizenIssuer && cfg.citizenClientId && c.caseSystem && c.citizenStores
      ? {
          caseSystem: c.caseSystem,
          issuer: cfg.citizenIssuer,
          stores: c.citizenStores,
          sessions: new Sessions<Citizen>(cfg.sessionMinutes ?? 30, {
            session: '__Host-tillid-borger',
            login: '__Host-tillid-borger-login',
          }),
          oidc: new OidcClient({
            issuer: cfg.citizenIssuer,
            clientId: cfg.citizenClientId,
            redirectUri: `${cfg.publicUrl}${CITIZEN_BASE}/callback`,
            ...ca,
          }),
        }
      : undefined;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  // Status reports arrive as files in multipart forms (the CSRF field first, then the file).
  await app.register(multipart, {
    limits: { files: 1, fields: 4, fieldSize: 256, fileSize: c.documents?.maxBytes ?? 25 * 1024 * 1024 },
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', csp);
    reply.header('x-content-type-options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the console's own forms.
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  // The gateway's audit hook records refusals on "public" routes; successful writes are added here.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' && reply.statusCode < 400 && request.caller)
      c.audit.record(entryOf(request, reply));
  });

  const kit = consoleKit(c, sessions, oidc, origin);
  const { page } = kit;

  app.setErrorHandler((error, request, reply) => {
    const session = sessions.of(request);
    const { status, code, message } = consoleRefusal(error);
    if (status >= 500 && code === 'INTERNAL') request.log.error({ err: error }, 'console request failed');
    const said = html`${errorBody(message, request.url.startsWith(CITIZEN_BASE) ? `${CITIZEN_BASE}/` : `${BASE}/`)}<p class="hint">Kode: <code>${code}</code></p>`;
    if (citizens && request.url.startsWith(CITIZEN_BASE))
      return page(
        reply,
        status,
        citizenLayout('Handlingen blev afvist', said, citizens.sessions.of(request)),
      );
    return page(
      reply,
      status,
      layout({
        title: 'Handlingen blev afvist',
        session,
        body: said,
      }),
    );
  });

  registerSessionRoutes(app, kit);
  registerCaseRoutes(app, kit);
  registerContractRoutes(app, kit);
  registerNetworkRoute(app, kit);
  registerAuditRoutes(app, kit);
  registerAmendRoute(app, kit);
  registerPaymentsRoute(app, kit);
  if (citizens) registerCitizenRoutes(app, kit, citizens);
}
