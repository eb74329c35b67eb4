/**
 * The gateway's HTTP server (fastify), assembled from plugins. A request travels: transaction id
 * (plugins/transaction-id.ts) → authentication (plugins/authentication.ts: bearer token or client
 * certificate → `request.caller`) → rate limit and service agreement for the route's service
 * (plugins/service-agreements.ts) → the route (routes/, documents/, events/: authorisation,
 * signing, submission) → audit entry (plugins/audit.ts). Every route declares its schemas; the
 * OpenAPI document at /docs is generated from them. Errors leave as `{ code, message }` with a code
 * of gateway/errors.ts, the framework's own errors included (node/api/errors.ts).
 */
import { dirname, join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  clientErrors,
  type ErrorAnswerOptions,
  frameworkErrors,
  installErrorAnswers,
  useErrorSchema,
} from '../node/api/errors.ts';
import { AccessLog } from './access-log/log.ts';
import { openCitizenStores } from './citizens/stores.ts';
import type { GatewayComponents, PluginComponents } from './components.ts';
import { consolePlugin } from './console/plugin.ts';
import { Sessions } from './console/session.ts';
import { DocumentService } from './documents/service.ts';
import { gatewayStatusOf } from './errors.ts';
import { registerMetrics } from './metrics.ts';
import { audit, auditRefusedBeforeRouting } from './plugins/audit.ts';
import { authentication } from './plugins/authentication.ts';
import { documentServiceOptions, documents } from './plugins/documents.ts';
import { events } from './plugins/events.ts';
import { serviceAgreements } from './plugins/service-agreements.ts';
import { transactionId } from './plugins/transaction-id.ts';
import { registerContractRoutes } from './routes/contracts.ts';
import { registerNetworkRoutes } from './routes/network.ts';
import { Submitter } from './submission.ts';

export const BODY_LIMIT = 64 * 1024;

const answers: ErrorAnswerOptions = { statusOf: gatewayStatusOf, server: 'the gateway' };
const answerFrameworkError = frameworkErrors(answers);

export async function buildGateway(c: GatewayComponents): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: c.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    frameworkErrors: (error, request, reply) => {
      auditRefusedBeforeRouting(c.audit, request, reply);
      return answerFrameworkError(error, request, reply);
    },
    clientErrorHandler: clientErrors(answers),
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
  const submitter = new Submitter(c.router, c.keyStore, c.finality, c.config.finalityTimeoutMs);
  // Reads of a case's contracts, anchored on chain in Merkle roots (gateway/access-log).
  const accessLog = AccessLog.open({
    file: join(dirname(c.config.keyStoreDir), 'access-log', 'access-log.jsonl'),
    anchor: async (municipality, root, ref) => {
      const result = await submitter.sign(
        municipality,
        'anchor.record',
        { hash: root, docType: 'access-log', ref },
        true,
      );
      if (result.outcome?.status !== 'finalized') throw new Error('the access-log root is not final');
      return result.hash;
    },
    intervalMs: c.config.accessLogAnchorMs,
    retentionDays: c.config.accessLogRetentionDays,
    anchors: (cvr) => c.keyStore.signer(cvr) !== undefined,
    onError: (e) => c.log.error({ err: e }, 'the access log could not be written'),
  });
  app.addHook('onClose', async () => accessLog.stop());
  const components: PluginComponents = { ...c, submitter };

  useErrorSchema(app);
  installErrorAnswers(app, answers);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tillid gateway',
        version: '1',
        description:
          'Domain API for municipal support systems: contracts, approvals, status reports, network status. ' +
          'Authenticate with a bearer token from the token service or a client certificate (mutual TLS). ' +
          'Send x-TransaktionsId (UUID) and x-TransaktionsTid with every call; on writes that act for a ' +
          'person, x-tillid-user names that person (opaquely). Every error is { code, message } with a ' +
          'code listed in gateway/README.md.',
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

  // Order matters: each hook runs in the order its plugin registered it.
  await app.register(transactionId);
  // The console's sessions (gateway/console): people log in there and may follow the event stream.
  const cc = c.config.console;
  const sessionFile =
    cc?.sessionFile && c.sessionSecret ? { path: cc.sessionFile, passphrase: c.sessionSecret } : undefined;
  const sessions = cc ? new Sessions(cc.sessionMinutes ?? 30, undefined, sessionFile) : undefined;
  if (sessions?.fileUnreadable)
    c.log.warn('the console session file does not decrypt with this passphrase: everyone logs in again');
  if (sessions) app.addHook('onClose', async () => sessions.flush());
  await app.register(authentication, {
    config: c.config,
    tokens: c.tokens,
    people: sessions && ((request) => sessions.callerOf(request)),
  });
  await app.register(serviceAgreements, { config: c.config });
  await app.register(audit, { sink: c.audit });
  // GET /metrics and the request counters (gateway/metrics.ts); event channels once they run.
  const metrics = registerMetrics(app, c);

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
      accessLog,
    });
  });
  const documentOptions = await documentServiceOptions(components, accessLog);
  await app.register(documents, { ...components, documentOptions });
  await app.register(events, { ...components, onEventDelivery: (d) => metrics.watchEvents(d) });
  // The web console for people (gateway/console), when the config has a `console` section.
  await app.register(consolePlugin, {
    ...components,
    sessions,
    accessLog,
    // The citizens' messages and grants (gateway/citizens), beside the gateway's other files.
    citizenStores:
      c.caseSystem && c.config.console?.citizenIssuer
        ? openCitizenStores({
            keyStoreDir: c.config.keyStoreDir,
            submitter,
            store: documentOptions.store,
            caseSystem: c.caseSystem,
          })
        : undefined,
    documents: new DocumentService(documentOptions),
  });
  return app;
}
