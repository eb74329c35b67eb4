/**
 * Network status, and the caller-signed path: a support system that signs its own transactions
 * (with a key registered for its CVR) hands them to POST /v1/transactions; the gateway checks
 * shape, chain, signature, that the transaction acts for the caller's CVR in a role the caller's
 * privileges allow, and relays it. GET /v1/transactions/:hash reports (or waits for) the outcome.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { type Action, authorize } from '../authorization.ts';
import { GatewayError } from '../errors.ts';
import type { CertificateVerifier, FinalityWatcher } from '../finality.ts';
import type { NodeRouter } from '../routing.ts';
import { errorReplies } from '../schemas.ts';
import { rejection, type Submitter } from '../submission.ts';
import { contractFacts } from './contracts.ts';

export interface NetworkRouteDeps {
  readonly router: NodeRouter;
  readonly verifier: CertificateVerifier;
  readonly finality: FinalityWatcher;
  readonly submitter: Submitter;
  readonly finalityTimeoutMs: number;
}

const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

/** Transaction types a caller may relay, and the action each one is. */
const RELAYABLE: Readonly<Record<string, Action>> = {
  'contract.defineTemplate': 'template.define',
  'contract.create': 'contract.create',
  'contract.propose': 'contract.propose',
  'contract.approve': 'contract.approve',
  'contract.report': 'contract.report',
};

export function registerNetworkRoutes(app: FastifyInstance, deps: NetworkRouteDeps): void {
  const { router, verifier, finality, submitter } = deps;

  app.get(
    '/v1/network',
    {
      config: { access: { service: 'network' } },
      schema: {
        description:
          'The network as this gateway sees it: topology, the nodes serving the caller and their health, and the latest block whose commit certificate the gateway verified.',
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const cvr = request.caller?.cvr as string;
      const head = await verifier.certifiedBlock(cvr, 'latest');
      const status = router.status;
      return {
        chainId: status.chainId,
        genesisHash: status.genesisHash,
        topology: router.topology,
        nodes: router.candidates(cvr).map((url) => router.health().find((h) => h.url === url)),
        verifiedHead: {
          height: head.header.height,
          hash: head.hash,
          timestamp: head.header.timestamp,
          signatures: head.certificate?.signatures.length ?? 0,
        },
        ...(status.clock ? { clock: status.clock } : {}),
      };
    },
  );

  app.post<{ Querystring: { wait?: string }; Body: JsonObject }>(
    '/v1/transactions',
    {
      config: { access: { service: 'transactions', action: 'transaction.relay' } },
      schema: {
        description:
          'Relay a transaction the caller signed itself. Its `as.party` must be the caller’s CVR and its role one the caller’s privileges allow.',
        querystring: { type: 'object', properties: { wait: { type: 'string', enum: ['true', 'false'] } } },
        body: anyObject,
        response: {
          200: anyObject,
          202: { type: 'object', properties: { hash, status: { type: 'string' } } },
          ...errorReplies,
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (!caller) throw new GatewayError('AUTH_REQUIRED', 'authenticate first');
      const body = request.body as {
        type?: unknown;
        payload?: { as?: { party?: unknown; role?: unknown }; contract?: unknown };
      };
      const action = typeof body.type === 'string' ? RELAYABLE[body.type] : undefined;
      if (!action)
        throw new GatewayError(
          'ROLE_NOT_PERMITTED',
          `the gateway relays only ${Object.keys(RELAYABLE).join(', ')}`,
        );
      const as = body.payload?.as;
      if (as?.party !== caller.cvr)
        throw new GatewayError(
          'SIGNER_NOT_CALLER',
          'the transaction must act for the caller’s CVR (payload.as.party)',
        );
      const contractId =
        typeof body.payload?.contract === 'string' ? (body.payload.contract as Hex) : undefined;
      authorize(caller, action, {
        ...(typeof as.role === 'string' ? { role: as.role } : {}),
        ...(contractId && /^[0-9a-f]{64}$/.test(contractId)
          ? { contract: await contractFacts(router, caller, contractId) }
          : {}),
      });
      const result = await submitter.relay(caller.cvr, request.body, request.query.wait === 'true');
      request.auditNotes.chainTransaction = result.hash;
      if (!result.outcome) return reply.code(202).send({ hash: result.hash, status: 'pending' });
      if (result.outcome.status === 'rejected') throw rejection(result.outcome);
      return reply.code(200).send(result.outcome);
    },
  );

  app.get<{ Params: { hash: Hex }; Querystring: { wait?: string } }>(
    '/v1/transactions/:hash',
    {
      config: { access: { service: 'network' } },
      schema: {
        description:
          'The outcome of a transaction: pending, finalized, or rejected with the chain’s code. With wait=true, waits for a verified block.',
        params: { type: 'object', properties: { hash }, required: ['hash'] },
        querystring: { type: 'object', properties: { wait: { type: 'string', enum: ['true', 'false'] } } },
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const cvr = request.caller?.cvr as string;
      if (request.query.wait === 'true') {
        const now = await finality.outcome(cvr, request.params.hash);
        if (now?.status === 'finalized' && now.height !== undefined) {
          const block = await verifier.certifiedBlock(cvr, now.height);
          return {
            ...now,
            block: {
              height: now.height,
              hash: block.hash,
              signatures: block.certificate?.signatures.length ?? 0,
            },
          };
        }
        if (now?.status === 'rejected') return now;
        return finality.wait(cvr, request.params.hash, deps.finalityTimeoutMs);
      }
      const outcome = await finality.outcome(cvr, request.params.hash);
      if (!outcome) throw new GatewayError('NOT_FOUND', 'no such transaction');
      return outcome;
    },
  );
}
