/**
 * How an HTTP server of Tillid answers an error — the node API and the gateway alike. One error
 * schema, and one handler that turns everything into `{ code, message, details? }` with a code
 * from the server's documented table: coded errors as they are, and the framework's own errors
 * (a malformed URL escape, an over-long path parameter, a wrong content type, a body too large,
 * bad JSON, failed validation, an unknown route) as stable codes, so that no body outside the
 * documented list ever leaves. A code missing from the table is a bug of the server: it is logged
 * and answered as INTERNAL rather than leaked.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCodedError } from '../protocol/errors.ts';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description:
    'Every 4xx/5xx carries a stable code a client can branch on; the README lists every code with its status.',
  properties: {
    code: { type: 'string', examples: ['TX_BAD_SIGNATURE'] },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['code', 'message'],
} as const;

/** Makes the error schema known to `app` (once: a plugin may share its host's). */
export function useErrorSchema(app: FastifyInstance): void {
  if (app.getSchema(errorSchema.$id) === undefined) app.addSchema(errorSchema);
}

/** Response schemas referencing the error schema, for a route's `schema.response`. */
export const errorReplies = (statuses: readonly number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { $ref: 'Error#' }]));

export interface ErrorAnswerOptions {
  /** The server's documented codes and their HTTP status. Must hold the codes used below. */
  readonly statusOf: Readonly<Record<string, number>>;
  /** Who is answering, for the message of a 500 ("the node", "the gateway"). */
  readonly server: string;
  /** The code for a failed schema validation on this request; default BAD_REQUEST. */
  readonly validationCode?: (request: FastifyRequest) => string;
  /** The answer to a body over the limit, when a plugin's limit has a code of its own. */
  readonly tooLarge?: { readonly code: string; readonly message: string };
}

const answered = new WeakMap<FastifyRequest, string>();

/** The code a request was answered with, if it was refused (the gateway's audit entry names it). */
export const answeredCode = (request: FastifyRequest): string | undefined => answered.get(request);

/** The framework's errors that have a fixed meaning for a client, by fastify's error code. */
const FRAMEWORK: Record<string, { code: string; message: (limit?: number) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'BODY_TOO_LARGE',
    message: (limit) => `request bodies are at most ${limit ?? 'the allowed'} bytes`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'send application/json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', message: () => 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', message: () => 'the body is not valid JSON' },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: () => 'the URL is malformed (a bad % escape?)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'BAD_REQUEST', message: () => 'a path parameter is too long' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST', message: () => 'the request matches no route version' },
};

/**
 * Installs the error answers on a fastify instance: `setErrorHandler` and `setNotFoundHandler`.
 * Pass `frameworkErrors(options)` to `Fastify({ frameworkErrors })` as well: errors fastify
 * raises before routing (bad URL, over-long parameter) never reach an error handler.
 */
export function installErrorAnswers(app: FastifyInstance, o: ErrorAnswerOptions): void {
  app.setErrorHandler(errorHandler(o));
  app.setNotFoundHandler((request, reply) =>
    answer(o, request, reply, 'NOT_FOUND', `no route ${request.method} ${request.url}`),
  );
}

export const frameworkErrors =
  (o: ErrorAnswerOptions) => (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    errorHandler(o)(error, request, reply);

/**
 * Answers what Node's HTTP parser refuses before fastify sees a request (malformed HTTP, headers
 * over the size limit, a request that never finished): for `Fastify({ clientErrorHandler })`.
 * The framework's default would send a body outside the documented list.
 */
export const clientErrors =
  (o: ErrorAnswerOptions) =>
  (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'the request headers are over the size limit']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['REQUEST_TIMEOUT', 'the request did not arrive in time']
          : ['BAD_REQUEST', 'the request is not well-formed HTTP'];
    const status = o.statusOf[code] ?? 400;
    const body = JSON.stringify({ code, message });
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    socket.destroy(error);
  };

export function errorHandler(o: ErrorAnswerOptions) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (isCodedError(error)) {
      if (o.statusOf[error.code] === undefined) {
        request.log.error(
          { code: error.code, url: request.url },
          'an error code outside the documented list',
        );
        return internal(o, request, reply, error);
      }
      return answer(o, request, reply, error.code, error.message, error.details);
    }
    // A plugin's callback may throw a plain error carrying a documented code (documents/routes.ts).
    if (
      typeof error.code === 'string' &&
      !error.code.startsWith('FST_') &&
      o.statusOf[error.code] !== undefined
    )
      return answer(o, request, reply, error.code, error.message);
    if (error.validation)
      return answer(o, request, reply, o.validationCode?.(request) ?? 'BAD_REQUEST', error.message);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && o.tooLarge)
      return answer(o, request, reply, o.tooLarge.code, o.tooLarge.message);
    const known = FRAMEWORK[error.code];
    if (known) {
      const limit = request.routeOptions?.bodyLimit;
      return answer(o, request, reply, known.code, known.message(limit));
    }
    const status = error.statusCode ?? 500;
    // Other client errors the framework detects (bad content-length, prototype poisoning, …).
    if (status === 404) return answer(o, request, reply, 'NOT_FOUND', error.message);
    if (status === 413) return answer(o, request, reply, 'BODY_TOO_LARGE', error.message);
    if (status === 415) return answer(o, request, reply, 'UNSUPPORTED_MEDIA_TYPE', error.message);
    if (status < 500) return answer(o, request, reply, 'BAD_REQUEST', error.message);
    return internal(o, request, reply, error);
  };
}

function internal(o: ErrorAnswerOptions, request: FastifyRequest, reply: FastifyReply, error: Error) {
  request.log.error({ err: error, url: request.url }, 'request failed');
  return answer(o, request, reply, 'INTERNAL', `internal error; ${o.server} logged the details`);
}

function answer(
  o: ErrorAnswerOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  code: string,
  message: string,
  details?: Record<string, unknown>,
) {
  answered.set(request, code);
  request.log.debug({ code, method: request.method, url: request.url }, 'request refused');
  return reply.code(o.statusOf[code] ?? 500).send({ code, message, ...(details ? { details } : {}) });
}
