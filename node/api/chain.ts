/**
 * Routes about the chain itself, as a fastify plugin: liveness and readiness, metrics, status,
 * blocks and their receipts, evidence, membership and anchors. Reads of module state go through
 * `StateQueries`, never through key layouts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { BlockReceipts } from '../chain/receipts.ts';
import type { Block } from '../protocol/block.ts';
import { blockHash } from '../protocol/block.ts';
import type { Hex } from '../protocol/hash.ts';
import type { StateQueries } from '../state/queries.ts';
import { errorReplies as replies } from './errors.ts';
import { type ProveRead, proofQuery, sendProven, wantsProof } from './proofs.ts';
import { blockReceiptsSchema, hashParams, heightParams, statusSchema } from './schemas.ts';

const errorReplies = replies([400, 404, 409]);

/** What the chain routes need from the node. */
export interface ChainApi {
  status(): Record<string, unknown> & { height: number };
  block(height: number): Promise<Block | undefined>;
  /** The receipts of a finalized block's transactions; undefined for a height not final yet. */
  blockReceipts(height: number): Promise<BlockReceipts | undefined>;
  ready(): boolean;
  readonly metrics: Registry;
  readonly queries: StateQueries;
  /** `?proof=true` reads (api/proofs.ts). */
  readonly proveRead: ProveRead;
  /** The membership proposals open at the head (chain/proposals.ts). */
  openProposals?(): Promise<readonly unknown[]>;
}

const proofOnly = { type: 'object', properties: proofQuery, additionalProperties: false } as const;

export const chainRoutes: FastifyPluginAsync<{ node: ChainApi }> = async (app, { node }) => {
  const heightOf = (param: string) => (param === 'latest' ? node.status().height : Number(param));

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

  app.get<{ Params: { height: string } }>(
    '/v1/blocks/:height',
    { schema: { params: heightParams, response: { 200: { $ref: 'Block#' }, ...errorReplies } } },
    async (request, reply) => {
      const { height } = request.params;
      const block = await node.block(heightOf(height));
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
          "Each transaction's receipt in a finalized block, in block order; 404 for a height not final yet. With proof=true, 410 STATE_PRUNED for a height below the node's stateRetention.",
        params: heightParams,
        querystring: proofOnly,
        response: { 200: blockReceiptsSchema, ...errorReplies, ...replies([410]) },
      },
    },
    async (request, reply) => {
      const { height } = request.params;
      const at = heightOf(height);
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
    async () => ({ equivocations: node.queries.equivocations() }),
  );

  app.get(
    '/v1/authorities',
    {
      schema: {
        description: 'The authority set in force from each height on (membership is decided by vote).',
      },
    },
    async () => ({ schedule: node.queries.authoritySchedule() }),
  );

  app.get(
    '/v1/governance/proposals',
    {
      schema: {
        description:
          'The membership proposals open at the head (neither adopted nor expired), oldest first, with their votes.',
      },
    },
    async (_request, reply) =>
      node.openProposals
        ? { height: node.status().height, proposals: await node.openProposals() }
        : reply.code(404).send({ code: 'NOT_FOUND', message: 'this node does not list proposals' }),
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
      node.queries.membershipProposal(request.params.hash) ??
      reply.code(404).send({ code: 'NOT_FOUND', message: 'no such proposal' }),
  );

  app.get<{ Params: { hash: Hex } }>(
    '/v1/governance/rotations/:hash',
    {
      schema: {
        description:
          'A key rotation (governance.rotate) by its transaction hash: seat, old and new key, effective height.',
        params: hashParams,
        response: { 200: { type: 'object', additionalProperties: true }, ...errorReplies },
      },
    },
    async (request, reply) =>
      node.queries.keyRotation(request.params.hash) ??
      reply.code(404).send({ code: 'NOT_FOUND', message: 'no such key rotation' }),
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
        : (node.queries.anchor(request.params.hash) ??
          reply.code(404).send({ code: 'NOT_FOUND', message: 'no such anchor' })),
  );
};
