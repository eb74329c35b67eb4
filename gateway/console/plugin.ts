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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { type Action, authorize, type ContractFacts } from '../authorization.ts';
import type { Caller } from '../caller.ts';
import type { PluginComponents } from '../components.ts';
import type { DocumentService } from '../documents/service.ts';
import { GatewayError, isGatewayError } from '../errors.ts';
import { entryOf } from '../plugins/audit.ts';
import { rejection } from '../submission.ts';
import { CaseNumberError, caseReference } from './case-ref.ts';
import { ERROR_DA, policyDa } from './danish.ts';
import { draftPayload, type Form, FormError, int } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { LoginError, OidcClient } from './oidc.ts';
import { casePage } from './pages/case.ts';
import { contractPage } from './pages/contract.ts';
import { homePage, loginPage } from './pages/home.ts';
import { BASE, errorBody, layout } from './pages/layout.ts';
import { type NodeRow, networkPage } from './pages/network.ts';
import type { ContractSummary, ContractView } from './pages/views.ts';
import { personCaller, type Session, type Sessions, sameSecret } from './session.ts';

const STATIC: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  (
    [
      ['konsol.css', 'text/css; charset=utf-8'],
      ['konsol.js', 'text/javascript; charset=utf-8'],
    ] as const
  ).map(([name, type]) => [name, { type, body: readFileSync(new URL(`./static/${name}`, import.meta.url)) }]),
);

const HEX64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const access = { access: { public: true } };

export async function consolePlugin(
  app: FastifyInstance,
  c: PluginComponents & { readonly sessions?: Sessions | undefined; readonly documents?: DocumentService },
): Promise<void> {
  const cfg = c.config.console;
  const sessions = c.sessions;
  if (!cfg || !sessions) return;
  const origin = new URL(cfg.publicUrl).origin;
  const oidc = new OidcClient({
    issuer: cfg.issuer,
    clientId: cfg.clientId,
    redirectUri: `${cfg.publicUrl}${BASE}/callback`,
    ...(cfg.issuerCaFile ? { ca: readFileSync(cfg.issuerCaFile, 'utf8') } : {}),
    roleUris: c.config.roleUris,
  });
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

  const page = (reply: FastifyReply, status: number, body: SafeHtml) =>
    reply.code(status).type('text/html; charset=utf-8').send(body.value);

  app.setErrorHandler((error, request, reply) => {
    const session = sessions.of(request);
    let status = 500;
    let message = 'Der skete en fejl i gatewayen. Prøv igen.';
    if (error instanceof FormError) [status, message] = [error.status, error.message];
    else if (error instanceof CaseNumberError) [status, message] = [400, error.message];
    else if (isGatewayError(error)) {
      status = error.status;
      message = ERROR_DA[error.code] ?? `Afvist (${error.code}).`;
    } else if ((error as { validation?: unknown }).validation)
      [status, message] = [400, ERROR_DA.FORM_INVALID as string];
    else if (
      (error as { statusCode?: number }).statusCode &&
      ((error as { statusCode: number }).statusCode ?? 500) < 500
    )
      [status, message] = [(error as { statusCode: number }).statusCode, ERROR_DA.FORM_INVALID as string];
    else request.log.error({ err: error }, 'console request failed');
    const code = (error as { code?: string }).code;
    return page(
      reply,
      status,
      layout({
        title: 'Handlingen blev afvist',
        session,
        body: html`${errorBody(message, `${BASE}/`)}${code ? html`<p class="hint">Kode: <code>${code}</code></p>` : ''}`,
      }),
    );
  });

  /** The logged-in person as the gateway's caller, set on the request for audit. */
  const callerOf = (request: FastifyRequest, s: Session): Caller => {
    const caller = personCaller(s.person, request.transactionId);
    request.caller = caller;
    return caller;
  };

  const sessionOf = (request: FastifyRequest): Session => {
    const s = sessions.of(request);
    if (!s) throw new FormError(ERROR_DA.LOGIN_REQUIRED as string, 401, 'LOGIN_REQUIRED');
    return s;
  };

  /** A POST from the console's own page in this session: CSRF token, and Origin when the browser sends it. */
  const checkCsrf = (request: FastifyRequest, s: Session, token: unknown) => {
    const sentOrigin = request.headers.origin;
    if (
      typeof token !== 'string' ||
      !sameSecret(token, s.csrf) ||
      (sentOrigin !== undefined && sentOrigin !== origin)
    )
      throw new FormError(ERROR_DA.CSRF as string, 403, 'CSRF');
  };
  const formOf = (request: FastifyRequest): { s: Session; form: Form } => {
    const s = sessionOf(request);
    const form = (request.body ?? {}) as Form;
    checkCsrf(request, s, form._csrf);
    return { s, form };
  };

  const act = async (
    request: FastifyRequest,
    s: Session,
    action: Action,
    type: string,
    payload: JsonObject,
    o: { contract?: ContractFacts; kle?: string; role?: string } = {},
  ) => {
    const caller = callerOf(request, s);
    const decision = authorize(caller, action, o);
    const actor = c.submitter.actorOf(caller, s.person.sub);
    request.auditNotes.actor = actor;
    const result = await c.submitter.sign(
      caller.cvr,
      type,
      { ...payload, as: { party: caller.cvr, role: decision.role, actor } },
      true,
    );
    request.auditNotes.chainTransaction = result.hash;
    if (result.outcome?.status === 'rejected') throw rejection(result.outcome);
    if (!result.outcome) throw new GatewayError('FINALITY_TIMEOUT', 'not final in time');
    return result.hash;
  };

  const contractOf = async (caller: Caller, id: string) => {
    const contract = await c.router.get<ContractView & ContractFacts & JsonObject>(
      caller.cvr,
      `/v1/contracts/${id}`,
    );
    if (!contract) throw new GatewayError('CONTRACT_NOT_FOUND', `no contract ${id}`);
    authorize(caller, 'contract.read', { contract });
    return contract;
  };
  const summariesOf = async (caller: Caller) => {
    authorize(caller, 'contract.read');
    const list = await c.router.get<{ contracts: ContractSummary[] }>(
      caller.cvr,
      `/v1/contracts?party=${caller.cvr}`,
    );
    return list?.contracts ?? [];
  };
  const byId = (list: readonly ContractSummary[]) => new Map(list.map((x) => [x.id, x]));
  const backTo = (contract: ContractSummary) =>
    contract.caseRef ? `${BASE}/sager/${contract.caseRef}` : `${BASE}/kontrakter/${contract.id}`;

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
    return page(reply, 200, homePage(s, await summariesOf(callerOf(request, s))));
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

  // The case number arrives in a form body and leaves as its pseudonym: never in a URL or a log.
  app.post(`${BASE}/sag`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const { s, form } = formOf(request);
    const ref = caseReference(c.keyStore, s.person.cvr, String(form.sag ?? ''));
    if (!ref) throw new GatewayError('NO_SUBMITTER_KEY', 'no pseudonym secret');
    return reply.redirect(`${BASE}/sager/${ref}`, 303);
  });

  app.get(`${BASE}/netvaerk`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessionOf(request);
    const caller = callerOf(request, s);
    const head = await c.verifier.certifiedBlock(caller.cvr, 'latest');
    const nodes = await Promise.all(
      c.router.candidates(caller.cvr).map(async (url) => {
        const health = c.router.health().find((h) => h.url === url);
        let status: NodeRow['status'];
        try {
          const answer = await c.router.fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(3000) });
          if (answer.ok) status = (await answer.json()) as NodeRow['status'];
        } catch {
          // Shown as unknown; the health column says why the gateway considers it down.
        }
        return {
          url,
          healthy: health?.healthy ?? false,
          ...(health?.reason ? { reason: health.reason } : {}),
          ...(status ? { status } : {}),
        };
      }),
    );
    return page(
      reply,
      200,
      networkPage(s, {
        chainId: c.router.status.chainId,
        head: {
          height: head.header.height,
          timestamp: head.header.timestamp,
          signatures: head.certificate?.signatures.length ?? 0,
        },
        nodes,
      }),
    );
  });

  app.get<{ Params: { ref: string } }>(
    `${BASE}/sager/:ref`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      const all = await summariesOf(caller);
      const ids = all.filter((x) => x.caseRef === request.params.ref).map((x) => x.id);
      const views = await Promise.all(ids.map((id) => contractOf(caller, id)));
      return page(reply, 200, casePage(s, request.params.ref, views, byId(all)));
    },
  );

  app.post<{ Params: { ref: string } }>(
    `${BASE}/sager/:ref/kontrakter`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const payload = draftPayload(s.person.cvr, request.params.ref, form);
      await act(request, s, 'contract.create', 'contract.create', payload);
      return reply.redirect(`${BASE}/sager/${request.params.ref}`, 303);
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      const contract = await contractOf(caller, request.params.id);
      return page(reply, 200, contractPage(s, contract, byId(await summariesOf(caller))));
    },
  );

  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/forslag`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const action = form.action;
      if (!['activate', 'suspend', 'resume', 'terminate'].includes(String(action)))
        throw new FormError('Vælg en handling fra listen.');
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      await act(
        request,
        s,
        'contract.propose',
        'contract.propose',
        { contract: contract.id, action: String(action) },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );

  app.post<{ Params: { id: string; motion: string } }>(
    `${BASE}/kontrakter/:id/forslag/:motion/godkend`,
    {
      config: access,
      schema: {
        hide: true,
        params: { type: 'object', properties: { id: HEX64, motion: HEX64 }, required: ['id', 'motion'] },
      },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      const motion = contract.motions.find((m) => m.id === request.params.motion);
      if (!motion) throw new GatewayError('MOTION_NOT_FOUND', 'no such motion on this contract');
      try {
        await act(
          request,
          s,
          'contract.approve',
          'contract.approve',
          { motion: motion.id },
          { contract, ...(form.role ? { role: String(form.role) } : {}) },
        );
      } catch (e) {
        // Say what the motion needs, so the person knows whom to ask.
        if (isGatewayError(e) && e.code === 'ROLE_NOT_PERMITTED' && motion.missing)
          throw new FormError(
            `Du har ikke en rettighed, der tillader at godkende. Forslaget mangler: ${policyDa(motion.missing)}.`,
            403,
            e.code,
          );
        throw e;
      }
      return reply.redirect(backTo(contract), 303);
    },
  );

  // A provider's status report: the file stored off chain (the gateway's document store, encrypted,
  // salted commitment), then `contract.report` with that commitment — never the file — on chain.
  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/rapport`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!c.documents)
        throw new FormError('Gatewayen gemmer ikke dokumenter.', 503, 'DOCUMENT_STORE_FAILED');
      if (!request.isMultipart()) throw new FormError('Send rapporten som fil.');
      const file = await request.file();
      const field = (name: string) => {
        const f = file?.fields[name];
        return f && !Array.isArray(f) && f.type === 'field' ? String(f.value) : undefined;
      };
      checkCsrf(request, s, field('_csrf'));
      if (!file || file.filename === '') throw new FormError('Vælg rapportens fil.');
      const period = int(field('period'), 'Perioden', 1, 1200);
      const bytes = await file.toBuffer();
      if (bytes.length === 0) throw new FormError('Filen er tom.');
      const caller = callerOf(request, s);
      const contract = await contractOf(caller, request.params.id);
      request.auditNotes.contract = contract.id;
      // Refused before anything is stored when the person may not report on this contract.
      authorize(caller, 'contract.report', { contract });
      const { meta } = await c.documents.upload(caller, {
        bytes,
        docType: 'status-report',
        mediaType: file.mimetype,
        contract: contract.id,
      });
      await act(
        request,
        s,
        'contract.report',
        'contract.report',
        { contract: contract.id, period, document: meta.commitment },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );
}
