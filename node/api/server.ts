/**
 * The node's HTTP API (fastify). Every route declares its schemas; the OpenAPI document at /docs is
 * generated from them. Errors leave as `{ code, message }` with a 4xx for anything the caller can
 * fix. The API sees the node only through `NodeApi`, never consensus or storage internals.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { NodeConfig } from '../config.ts';
import type { Startable } from '../lifecycle.ts';
import type { Logger } from '../log.ts';
import { httpStatusOf } from '../protocol/errors.ts';
import { type ChainApi, chainRoutes } from './chain.ts';
import { contractRoutes } from './contracts.ts';
import { lazyDocs } from './docs.ts';
import {
  clientErrors,
  type ErrorAnswerOptions,
  frameworkErrors,
  installErrorAnswers,
  useErrorSchema,
} from './errors.ts';
import { blockSchema, transactionSchema } from './schemas.ts';
import { type TransactionsApi, transactionRoutes } from './transactions.ts';

/** Everything the API sees of the node: what each route plugin declares it needs, nothing more. */
export type NodeApi = ChainApi & TransactionsApi;

/** Largest request body accepted; a transaction itself is capped lower (MAX_TX_BYTES). */
export const BODY_LIMIT = 64 * 1024;

/** The node's error answers: its codes (node/protocol/errors.ts); a bad transaction is TX_MALFORMED. */
const answers: ErrorAnswerOptions = {
  statusOf: httpStatusOf,
  server: 'the node',
  validationCode: (request) =>
    request.routeOptions.url === '/v1/transactions' ? 'TX_MALFORMED' : 'BAD_REQUEST',
};

/** PEM contents of the API's certificate (chain) and key: with them the API serves only HTTPS. */
export interface ApiTls {
  readonly cert: string;
  readonly key: string;
}

export function buildApi(node: NodeApi, log: Logger, tls?: ApiTls): FastifyInstance {
  // Typed as the plain-HTTP instance: routes and hooks are the same on an HTTPS server.
  const app = Fastify({
    ...(tls ? { https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    frameworkErrors: frameworkErrors(answers),
    clientErrorHandler: clientErrors(answers),
    // Coercion or stripping would change signed content behind the signer's back: reject instead.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  useErrorSchema(app);
  app.addSchema(transactionSchema);
  app.addSchema(blockSchema);

  lazyDocs(app);
  // Only JSON is accepted; anything else is 415 rather than a string that fails validation later.
  app.removeContentTypeParser('text/plain');

  installErrorAnswers(app, answers);

  // Routes are plugins registered after lazyDocs, so its onRoute hook records them for /docs.
  app.register(chainRoutes, { node });
  app.register(transactionRoutes, { node });
  app.register(contractRoutes, { queries: node.queries, prove: node.proveRead });
  return app;
}

/** The API as a part of the node's lifecycle: it listens on start and closes on stop. */
export function listeningApi(api: FastifyInstance, { host, port }: NodeConfig['api']): Startable {
  return {
    async start() {
      try {
        await api.listen({ host, port });
      } catch (e) {
        throw new Error(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
      }
    },
    stop: () => api.close(),
  };
}
