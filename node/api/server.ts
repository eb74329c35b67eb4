/**
 * The node's HTTP API (fastify). Every route declares its schemas; the OpenAPI document at /docs is
 * generated from them. Errors leave as `{ code, message }` with a 4xx for anything the caller can
 * fix. The API sees the node only through `NodeApi`, never consensus or storage internals.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from '../log.ts';
import { type ErrorCode, httpStatusOf, isTillidError } from '../protocol/errors.ts';
import { type ChainApi, chainRoutes } from './chain.ts';
import { contractRoutes } from './contracts.ts';
import { blockSchema, errorSchema, transactionSchema } from './schemas.ts';
import { type TransactionsApi, transactionRoutes } from './transactions.ts';

/** Everything the API sees of the node: what each route plugin declares it needs, nothing more. */
export type NodeApi = ChainApi & TransactionsApi;

/** Largest request body accepted; a transaction itself is capped lower (MAX_TX_BYTES). */
export const BODY_LIMIT = 64 * 1024;

export function buildApi(node: NodeApi, log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Coercion or stripping would change signed content behind the signer's back: reject instead.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  app.addSchema(errorSchema);
  app.addSchema(transactionSchema);
  app.addSchema(blockSchema);

  app.register(swagger, {
    openapi: {
      info: { title: 'Tillid node API', version: '1', description: 'A Tillid consortium ledger node.' },
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  // Only JSON is accepted; anything else is 415 rather than a string that fails validation later.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const send = (code: ErrorCode, message: string, details?: unknown) => {
      request.log.debug({ code, method: request.method, url: request.url }, 'request rejected');
      return reply.code(httpStatusOf[code]).send({ code, message, ...(details ? { details } : {}) });
    };
    if (isTillidError(error)) return send(error.code, error.message, error.details);
    if (error.validation) {
      const code: ErrorCode =
        request.routeOptions.url === '/v1/transactions' ? 'TX_MALFORMED' : 'BAD_REQUEST';
      return send(code, error.message);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send('BODY_TOO_LARGE', `request bodies are at most ${BODY_LIMIT} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send('UNSUPPORTED_MEDIA_TYPE', 'send application/json');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send('MALFORMED_JSON', 'the body is not valid JSON');
    }
    if (error.statusCode !== undefined && error.statusCode < 500) {
      // Other client errors fastify detects (bad content-length, prototype poisoning, …).
      return reply.code(error.statusCode).send({ code: 'BAD_REQUEST', message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return send('INTERNAL', 'internal error; the node logged the details');
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` }),
  );

  // Routes are plugins registered after swagger, so its onRoute hook sees them for /docs.
  app.register(chainRoutes, { node });
  app.register(transactionRoutes, { node });
  app.register(contractRoutes, { queries: node.queries, prove: node.proveRead });
  return app;
}
