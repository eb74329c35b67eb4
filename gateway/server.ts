/**
 * The gateway's HTTP server (fastify). A request travels: transaction id (`x-TransaktionsId`,
 * `x-TransaktionsTid`) → authentication (bearer token or client certificate → `request.caller`)
 * → rate limit per calling system → service agreement for the route's service → the route
 * (authorisation, signing, submission) → audit entry. Every route declares its schemas; the
 * OpenAPI document at /docs is generated from them. Errors leave as `{ code, message }`.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from '../node/log.ts';
import type { AuditEntry, AuditSink } from './audit.ts';
import { certificatePrivileges, identityFromCertificate } from './auth/certificate.ts';
import type { TokenVerifier } from './auth/token.ts';
import { ServiceAgreements } from './authorization.ts';
import type { Caller } from './caller.ts';
import type { GatewayConfig, Service } from './config.ts';
import { GatewayError, isGatewayError } from './errors.ts';
import type { CertificateVerifier, FinalityWatcher } from './finality.ts';
import type { KeyStore } from './keystore.ts';
import { registerContractRoutes } from './routes/contracts.ts';
import { registerNetworkRoutes } from './routes/network.ts';
import type { NodeRouter } from './routing.ts';
import { errorSchema } from './schemas.ts';
import { Submitter } from './submission.ts';

export interface GatewayComponents {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly keyStore: KeyStore;
  readonly router: NodeRouter;
  readonly verifier: CertificateVerifier;
  readonly finality: FinalityWatcher;
  readonly tokens?: TokenVerifier;
  readonly audit: AuditSink;
  /** PEM material for HTTPS; with `ca`, clients may present certificates (mutual TLS). */
  readonly https?: { readonly key: string; readonly cert: string; readonly ca?: readonly string[] };
}

/** What a route declares in its `config`: the service it belongs to and the action it performs. */
export interface RouteAccess {
  readonly public?: boolean;
  readonly service?: Service;
  readonly action?: string;
}

/** What a route adds to its audit entry (never personal data). */
export interface AuditNotes {
  actor?: string;
  chainTransaction?: string;
  contract?: string;
  code?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNotes: AuditNotes;
    startedAt: number;
    transactionId: string;
    transactionTime?: string;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export const BODY_LIMIT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function buildGateway(c: GatewayComponents): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: c.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    ...(c.https
      ? {
          https: {
            key: c.https.key,
            cert: c.https.cert,
            ...(c.https.ca && c.https.ca.length > 0
              ? // Untrusted certificates are refused by the gateway (401 CERT_UNTRUSTED, audited) rather
                // than by the handshake, so the caller learns why.
                { ca: [...c.https.ca], requestCert: true, rejectUnauthorized: false }
              : {}),
          },
        }
      : {}),
  });
  const agreements = new ServiceAgreements(c.config);
  const submitter = new Submitter(c.router, c.keyStore, c.finality, c.config.finalityTimeoutMs);

  app.addSchema(errorSchema);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tillid gateway',
        version: '1',
        description:
          'Domain API for municipal support systems: contracts, approvals, status reports, network status. ' +
          'Authenticate with a bearer token from the token service or a client certificate (mutual TLS). ' +
          'Send x-TransaktionsId (UUID) and x-TransaktionsTid with every call.',
      },
      components: {
        securitySchemes: {
          token: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      // A client certificate (mutual TLS) is the alternative; OpenAPI 3.0 cannot name it.
      security: [{ token: [] }, {}],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.removeContentTypeParser('text/plain');

  app.decorateRequest('auditNotes', null as unknown as AuditNotes);
  app.decorateRequest('startedAt', 0);
  app.decorateRequest('transactionId', '');

  const isPublic = (access: RouteAccess | undefined, url: string | undefined) =>
    access?.public === true || url === undefined || url.startsWith('/docs');

  // 1. Transaction id and time, as the service platform's headers; echoed on the response.
  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = performance.now();
    request.auditNotes = {};
    const id = request.headers['x-transaktionsid'];
    const time = request.headers['x-transaktionstid'];
    request.transactionId = typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : crypto.randomUUID();
    reply.header('x-transaktionsid', request.transactionId);
    if (id !== undefined && (typeof id !== 'string' || !UUID.test(id)))
      throw new GatewayError('TRANSACTION_ID_INVALID', 'x-TransaktionsId must be a UUID');
    if (time !== undefined) {
      if (typeof time !== 'string' || Number.isNaN(Date.parse(time)))
        throw new GatewayError('TRANSACTION_ID_INVALID', 'x-TransaktionsTid must be an ISO 8601 time');
      request.transactionTime = time;
    }
  });

  // 2. Authentication: a bearer token if one is sent, else a client certificate.
  app.addHook('onRequest', async (request) => {
    if (isPublic(request.routeOptions.config.access, request.routeOptions.url)) return;
    const base = {
      transactionId: request.transactionId,
      ...(request.transactionTime ? { transactionTime: request.transactionTime } : {}),
    };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
      if (!match) throw new GatewayError('TOKEN_INVALID', 'send Authorization: Bearer <token>');
      if (!c.tokens) throw new GatewayError('TOKEN_INVALID', 'this gateway does not accept tokens');
      const verified = await c.tokens.verify(match[1] as string);
      request.caller = { ...verified, via: 'token', ...base } satisfies Caller;
      return;
    }
    const socket = request.raw.socket as TLSSocket;
    const peer =
      typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
    if (peer) {
      if (!socket.authorized)
        throw new GatewayError(
          'CERT_UNTRUSTED',
          `the client certificate is not trusted (${socket.authorizationError})`,
        );
      const identity = identityFromCertificate(new X509Certificate(peer.raw));
      request.caller = {
        ...identity,
        privileges: certificatePrivileges(identity, c.config),
        via: 'certificate',
        ...base,
      } satisfies Caller;
      return;
    }
    throw new GatewayError('AUTH_REQUIRED', 'authenticate with a bearer token or a client certificate');
  });

  // 3. Rate limits per calling system (after authentication, so the key is the system, not an IP).
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: c.config.rateLimit.max,
    timeWindow: c.config.rateLimit.timeWindowMs,
    keyGenerator: (request) => request.caller?.system ?? request.ip,
    allowList: (request) => isPublic(request.routeOptions.config.access, request.routeOptions.url),
    errorResponseBuilder: (_request, context) => {
      const e = new GatewayError(
        'RATE_LIMITED',
        `at most ${context.max} calls per ${context.after} per system`,
      );
      return e;
    },
  });

  // 4. Service agreements for the route's service (runs after the rate limit's preHandler).
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config.access;
    if (!request.caller || !access?.service) return;
    agreements.check(request.caller, access.service);
  });

  // 5. The audit entry, once the response is sent.
  app.addHook('onResponse', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (isPublic(access, request.routeOptions.url) && reply.statusCode < 400) return;
    const caller = request.caller;
    const notes = request.auditNotes ?? {};
    const entry: AuditEntry = {
      at: new Date().toISOString(),
      transactionId: request.transactionId,
      ...(request.transactionTime ? { transactionTime: request.transactionTime } : {}),
      ...(caller ? { system: caller.system, cvr: caller.cvr, via: caller.via } : {}),
      ...(access?.service ? { service: access.service } : {}),
      ...(access?.action ? { action: access.action } : {}),
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      status: reply.statusCode,
      outcome: reply.statusCode < 400 ? 'ok' : reply.statusCode < 500 ? 'refused' : 'failed',
      ...(notes.code ? { code: notes.code } : {}),
      ...(notes.actor ? { actor: notes.actor } : {}),
      ...(notes.chainTransaction ? { chainTransaction: notes.chainTransaction } : {}),
      ...(notes.contract ? { contract: notes.contract } : {}),
      durationMs: Math.round((performance.now() - request.startedAt) * 10) / 10,
    };
    c.audit.record(entry);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const send = (status: number, code: string, message: string, details?: unknown) => {
      if (request.auditNotes) request.auditNotes.code = code;
      return reply.code(status).send({ code, message, ...(details ? { details } : {}) });
    };
    if (isGatewayError(error)) return send(error.status, error.code, error.message, error.details);
    if (error.validation) return send(400, 'BAD_REQUEST', error.message);
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(413, 'BODY_TOO_LARGE', 'the request body is too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(400, 'MALFORMED_JSON', 'the body is not valid JSON');
    }
    if (error.statusCode !== undefined && error.statusCode < 500)
      return send(error.statusCode, 'BAD_REQUEST', error.message);
    request.log.error({ err: error, url: request.url }, 'request failed');
    return send(500, 'INTERNAL', 'internal error; the gateway logged the details');
  });
  app.setNotFoundHandler((request, reply) => {
    request.auditNotes ??= {};
    request.auditNotes.code = 'NOT_FOUND';
    return reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` });
  });

  await app.register(async (routes) => {
    routes.get('/healthz', { schema: { hide: true }, config: { access: { public: true } } }, async () => ({
      ok: true,
    }));
    routes.get(
      '/readyz',
      { schema: { hide: true }, config: { access: { public: true } } },
      async (_req, reply) => {
        const up = c.router.health().some((n) => n.healthy);
        return up
          ? { ready: true }
          : reply
              .code(503)
              .send({ code: 'NODE_UNAVAILABLE', message: 'no node of the network is reachable' });
      },
    );
    registerNetworkRoutes(routes, {
      router: c.router,
      verifier: c.verifier,
      finality: c.finality,
      submitter,
      finalityTimeoutMs: c.config.finalityTimeoutMs,
    });
    registerContractRoutes(routes, {
      router: c.router,
      verifier: c.verifier,
      submitter,
      keyStore: c.keyStore,
    });
  });
  await registerPlugins(app, c, submitter);
  return app;
}

/** The off-chain document routes (gateway/documents), wired in plugins.ts. */
async function registerPlugins(
  app: FastifyInstance,
  c: GatewayComponents,
  submitter: Submitter,
): Promise<void> {
  const { registerDocuments } = await import('./plugins.ts');
  await registerDocuments(app, c, submitter);
  const { registerEvents } = await import('./event-wiring.ts');
  const delivery = await registerEvents(app, c);
  app.addHook('onClose', () => delivery.stop());
  const { registerMetrics } = await import('./metrics.ts');
  registerMetrics(app, c, delivery);
}
