/**
 * The document routes, as a fastify plugin the gateway's server registers:
 *
 *   app.register(documentRoutes, { store, authorize, submit, erasureLog, maxBytes });
 *
 * It needs `request.caller` (set by the gateway's authentication hook); without one a route answers
 * 401 AUTH_REQUIRED. The plugin is encapsulated: its raw-body parser and error handler apply to
 * these routes only. Errors leave as `{ code, message }`; an error a callback throws with a string
 * `code` and a numeric `status` (or `statusCode`) passes through unchanged.
 *
 *   POST   /v1/documents?docType=status-report[&contract=<id>][&anchor=true]
 *          body: the document's raw bytes; Content-Type: its media type (any)
 *          201 { id, commitment, docType, contract?, mediaType, size, createdAt, owner, anchorTx? }
 *   GET    /v1/documents/:id         the bytes; headers x-tillid-commitment, x-tillid-salt
 *   GET    /v1/documents/:id/meta    metadata (also of an erased document)
 *   DELETE /v1/documents/:id         erase: 200 { document, erasedAt, erasureHash, anchorTx?, anchorError? }
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorHandler, errorReplies, useErrorSchema } from '../../node/api/errors.ts';
import type { Caller } from '../caller.ts';
import { gatewayStatusOf } from '../errors.ts';
import { DocumentService, type DocumentServiceOptions } from './service.ts';
import { DocumentError } from './store.ts';

export type DocumentRoutesOptions = DocumentServiceOptions;

const errors = errorReplies([400, 401, 403, 404, 409, 410, 413]);

const meta = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    commitment: { type: 'string', description: 'salted SHA-256 commitment (hex) — what goes on chain' },
    owner: { type: 'string', description: 'CVR of the uploading organisation' },
    contract: { type: 'string' },
    docType: { type: 'string' },
    mediaType: { type: 'string' },
    size: { type: 'integer' },
    createdAt: { type: 'string' },
    anchorTx: { type: 'string', description: 'the anchor.record transaction, when anchor=true' },
    erased: { type: 'object', properties: { at: { type: 'string' }, by: { type: 'string' } } },
  },
};

const idParams = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
  },
  required: ['id'],
};

function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new DocumentError('AUTH_REQUIRED', 'authenticate with a token or a certificate');
  return request.caller;
}

export async function documentRoutes(app: FastifyInstance, options: DocumentRoutesOptions): Promise<void> {
  const service = new DocumentService(options);

  // Documents arrive as raw bytes of any media type (no base64: a third smaller, and the bytes
  // hashed are exactly the bytes sent). Only inside this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: service.maxBytes }, (_req, body, done) =>
    done(null, body),
  );

  useErrorSchema(app);
  // The gateway's error answers, with the documents' own limit; set here too so the plugin answers
  // the same on its own (tests, another host).
  app.setErrorHandler(
    errorHandler({
      statusOf: gatewayStatusOf,
      server: 'the gateway',
      tooLarge: { code: 'DOCUMENT_TOO_LARGE', message: `documents are at most ${service.maxBytes} bytes` },
    }),
  );

  app.post<{ Querystring: { docType: string; contract?: string; anchor?: 'true' | 'false' }; Body: Buffer }>(
    '/v1/documents',
    {
      bodyLimit: service.maxBytes,
      schema: {
        summary: 'Upload a document off chain; returns the salted commitment to put on chain',
        tags: ['documents'],
        querystring: {
          type: 'object',
          properties: {
            docType: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,63}$' },
            contract: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            anchor: { type: 'string', enum: ['true', 'false'] },
          },
          required: ['docType'],
          additionalProperties: false,
        },
        response: { 201: meta, ...errors },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const body = request.body;
      if (!Buffer.isBuffer(body))
        throw new DocumentError('DOCUMENT_EMPTY', 'send the document as the request body');
      const { meta: stored, anchorTx } = await service.upload(caller, {
        bytes: body,
        docType: request.query.docType,
        ...(request.headers['content-type'] ? { mediaType: request.headers['content-type'] } : {}),
        ...(request.query.contract ? { contract: request.query.contract } : {}),
        anchor: request.query.anchor === 'true',
      });
      return reply.code(201).send({ ...stored, ...(anchorTx ? { anchorTx } : {}) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/documents/:id',
    {
      schema: {
        summary: 'Download a document; the commitment is checked before it is served',
        tags: ['documents'],
        params: idParams,
        response: {
          200: {
            description:
              'the document bytes; x-tillid-commitment and x-tillid-salt let the receiver re-check',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { meta: stored, salt, bytes } = await service.download(callerOf(request), request.params.id);
      return reply
        .header('content-type', stored.mediaType)
        .header('content-disposition', 'attachment')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .header('x-tillid-commitment', stored.commitment)
        .header('x-tillid-salt', salt.toString('hex'))
        .header('x-tillid-doc-type', stored.docType)
        .send(bytes);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/documents/:id/meta',
    {
      schema: {
        summary: 'Metadata of a document (also once erased)',
        tags: ['documents'],
        params: idParams,
        response: { 200: meta, ...errors },
      },
    },
    async (request) => service.meta(callerOf(request), request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/documents/:id',
    {
      schema: {
        summary:
          'Erase a document: key, salt and content are deleted; an erasure record is kept and anchored',
        tags: ['documents'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              document: { type: 'string' },
              erasedAt: { type: 'string' },
              erasureHash: { type: 'string' },
              anchorTx: { type: 'string' },
              anchorError: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const record = await service.erase(callerOf(request), request.params.id);
      return {
        document: record.document,
        erasedAt: record.erasedAt,
        erasureHash: record.erasureHash,
        ...(record.anchorTx ? { anchorTx: record.anchorTx } : {}),
        ...(record.anchorError ? { anchorError: record.anchorError } : {}),
      };
    },
  );
}
