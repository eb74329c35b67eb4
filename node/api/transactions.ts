/**
 * Transaction routes, as a fastify plugin: submit one, submit a batch, ask what became of one.
 * Admission itself lives in mempool/intake.ts; these routes only carry requests to it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { isTillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { errorReplies as replies } from './errors.ts';
import { batchResultSchema, batchSchema, hashParams, MAX_BATCH, transactionViewSchema } from './schemas.ts';

const errorReplies = replies([400, 404, 409]);

export interface TransactionView {
  hash: Hex;
  status: 'pending' | 'finalized' | 'rejected';
  height?: number;
  index?: number;
  code?: string;
  message?: string | undefined;
}

/** What the transaction routes need from the node. */
export interface TransactionsApi {
  /** Admits a transaction (and relays it to peers); rejects with a TillidError. */
  submit(input: unknown): Promise<Hex>;
  transaction(hash: Hex): TransactionView | undefined;
}

/** A batch may carry MAX_BATCH transactions of typical size (a few hundred bytes each). */
export const BATCH_BODY_LIMIT = 2 * 1024 * 1024;

export const transactionRoutes: FastifyPluginAsync<{ node: TransactionsApi }> = async (app, { node }) => {
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
};
