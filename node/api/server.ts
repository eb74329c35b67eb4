/**
 * The node's HTTP API (fastify). Every route declares its schemas; the OpenAPI document at /docs is
 * generated from them. Errors leave as `{ code, message }` with a 4xx for anything the caller can
 * fix. The API sees the node only through `NodeApi`, never consensus or storage internals.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Block } from '../protocol/block.ts';
import { blockHash } from '../protocol/block.ts';
import { httpStatusOf, isTillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { type ContractsReadApi, registerContractRoutes } from './contracts.ts';
import {
  clientErrors,
  type ErrorAnswerOptions,
  frameworkErrors,
  installErrorAnswers,
  errorReplies as replies,
  useErrorSchema,
} from './errors.ts';
import { type ProveRead, proofQuery, sendProven, wantsProof } from './proofs.ts';
import {
  batchResultSchema,
  batchSchema,
  blockReceiptsSchema,
  blockSchema,
  hashParams,
  heightParams,
  MAX_BATCH,
  statusSchema,
  transactionSchema,
  transactionViewSchema,
} from './schemas.ts';

export interface TransactionView {
  hash: Hex;
  status: 'pending' | 'finalized' | 'rejected';
  height?: number;
  index?: number;
  code?: string;
  message?: string | undefined;
}

/** What the chain decided for each transaction of a finalized block, in block order. */
export interface BlockReceipts {
  height: number;
  /** The block hash. */
  hash: Hex;
  receipts: { hash: Hex; index: number; code: string; message?: string | undefined }[];
}

export interface NodeApi {
  status(): Record<string, unknown>;
  /** Admits a transaction; rejects with a TillidError. */
  submit(input: unknown): Promise<Hex>;
  transaction(hash: Hex): TransactionView | undefined;
  block(height: number): Promise<Block | undefined>;
  /** The receipts of a finalized block's transactions; undefined for a height not final yet. */
  blockReceipts(height: number): Promise<BlockReceipts | undefined>;
  anchor(hash: Hex): Record<string, unknown> | undefined;
  /** The authority set from each height on, genesis first. */
  authoritySchedule(): unknown[];
  membershipProposal(id: Hex): Record<string, unknown> | undefined;
  /** Equivocations recorded on chain. */
  equivocations(): unknown[];
  ready(): boolean;
  readonly metrics: Registry;
  /** Read access for the contracts application's routes. */
  readonly contracts: ContractsReadApi;
  /** `?proof=true` reads (api/proofs.ts). */
  readonly proveRead: ProveRead;
}

const proofOnly = { type: 'object', properties: proofQuery, additionalProperties: false } as const;

/** Largest request body accepted; a transaction itself is capped lower (MAX_TX_BYTES). */
export const BODY_LIMIT = 64 * 1024;
/** A batch may carry MAX_BATCH transactions of typical size (a few hundred bytes each). */
export const BATCH_BODY_LIMIT = 2 * 1024 * 1024;

const errorReplies = replies([400, 404, 409]);

/** The node's error answers: its codes (node/protocol/errors.ts); a bad transaction is TX_MALFORMED. */
const answers: ErrorAnswerOptions = {
  statusOf: httpStatusOf,
  server: 'the node',
  validationCode: (request) =>
    request.routeOptions.url === '/v1/transactions' ? 'TX_MALFORMED' : 'BAD_REQUEST',
};

export function buildApi(node: NodeApi, log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    frameworkErrors: frameworkErrors(answers),
    clientErrorHandler: clientErrors(answers),
    // Coercion or stripping would change signed content behind the signer's back: reject instead.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  useErrorSchema(app);
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

  installErrorAnswers(app, answers);

  // Routes go in a plugin registered after swagger, so its onRoute hook sees them for /docs.
  app.register(async (routes) => {
    registerRoutes(routes, node);
    registerContractRoutes(routes, node.contracts);
  });
  return app;
}

function registerRoutes(app: FastifyInstance, node: NodeApi): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) =>
    node.ready()
      ? { ready: true }
      : reply.code(503).send({ code: 'NOT_READY', message: 'the node is not ready' }),
  );
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(node.metrics.contentType).send(await node.metrics.metrics()),
  );

  app.get('/v1/status', { schema: { response: { 200: statusSchema } } }, async () => node.status());

  app.post(
    '/v1/transactions',
    {
      schema: {
        body: { $ref: 'Transaction#' },
        response: { 202: { type: 'object', properties: { hash: { type: 'string' } } }, ...errorReplies },
      },
    },
    async (request, reply) => reply.code(202).send({ hash: await node.submit(request.body) }),
  );

  // For systems that submit in bulk (a gateway, a migration): one request, many transactions, a
  // result per transaction in the same order. Each item is admitted exactly as if sent alone.
  app.post<{ Body: { transactions: unknown[] } }>(
    '/v1/transactions/batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        description: `Submit up to ${MAX_BATCH} transactions; each gets { hash } or { code, message }.`,
        body: batchSchema,
        response: { 200: batchResultSchema, ...errorReplies },
      },
    },
    async (request) => {
      let accepted = 0;
      const results = await Promise.all(
        request.body.transactions.map(async (tx) => {
          try {
            const hash = await node.submit(tx);
            accepted++;
            return { hash };
          } catch (e) {
            if (!isTillidError(e)) throw e;
            return { code: e.code, message: e.message };
          }
        }),
      );
      return { accepted, results };
    },
  );

  app.get<{ Params: { hash: Hex } }>(
    '/v1/transactions/:hash',
    { schema: { params: hashParams, response: { 200: transactionViewSchema, ...errorReplies } } },
    async (request, reply) => {
      const view = node.transaction(request.params.hash);
      return view ?? reply.code(404).send({ code: 'NOT_FOUND', message: 'no such transaction' });
    },
  );

  app.get<{ Params: { height: string } }>(
    '/v1/blocks/:height',
    { schema: { params: heightParams, response: { 200: { $ref: 'Block#' }, ...errorReplies } } },
    async (request, reply) => {
      const { height } = request.params;
      const block = await node.block(height === 'latest' ? (node.status().height as number) : Number(height));
      if (!block) return reply.code(404).send({ code: 'NOT_FOUND', message: `no block at ${height}` });
      return { hash: blockHash(block.header), ...block };
    },
  );

  // Verdicts for a whole block in one request (a gateway waiting on many transactions).
  app.get<{ Params: { height: string }; Querystring: { proof?: string } }>(
    '/v1/blocks/:height/receipts',
    {
      schema: {
        description:
          "Each transaction's receipt in a finalized block, in block order; 404 for a height not final yet.",
        params: heightParams,
        querystring: proofOnly,
        response: { 200: blockReceiptsSchema, ...errorReplies },
      },
    },
    async (request, reply) => {
      const { height } = request.params;
      const at = height === 'latest' ? (node.status().height as number) : Number(height);
      if (wantsProof(request.query)) {
        if (at < 1) return reply.code(404).send({ code: 'NOT_FOUND', message: `no block at ${height}` });
        return sendProven(reply, node.proveRead, { kind: 'receipts', height: at });
      }
      const receipts = await node.blockReceipts(at);
      return receipts ?? reply.code(404).send({ code: 'NOT_FOUND', message: `no block at ${height}` });
    },
  );

  app.get(
    '/v1/evidence',
    {
      schema: {
        description:
          'Equivocations (conflicting signed proposals or votes by one authority) recorded on chain.',
      },
    },
    async () => ({ equivocations: node.equivocations() }),
  );

  app.get(
    '/v1/authorities',
    {
      schema: {
        description: 'The authority set in force from each height on (membership is decided by vote).',
      },
    },
    async () => ({ schedule: node.authoritySchedule() }),
  );

  app.get<{ Params: { hash: Hex } }>(
    '/v1/governance/proposals/:hash',
    {
      schema: {
        params: hashParams,
        response: { 200: { type: 'object', additionalProperties: true }, ...errorReplies },
      },
    },
    async (request, reply) =>
      node.membershipProposal(request.params.hash) ??
      reply.code(404).send({ code: 'NOT_FOUND', message: 'no such proposal' }),
  );

  app.get<{ Params: { hash: Hex }; Querystring: { proof?: string } }>(
    '/v1/anchors/:hash',
    {
      schema: {
        params: hashParams,
        querystring: proofOnly,
        response: { 200: { type: 'object', additionalProperties: true }, ...errorReplies },
      },
    },
    async (request, reply) =>
      wantsProof(request.query)
        ? sendProven(reply, node.proveRead, { kind: 'anchor', hash: request.params.hash })
        : (node.anchor(request.params.hash) ??
          reply.code(404).send({ code: 'NOT_FOUND', message: 'no such anchor' })),
  );
}
