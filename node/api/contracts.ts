/**
 * Read routes for the contracts application and the event feed, as a fastify plugin. They read
 * finalized state through `StateQueries` (state/queries.ts); writes go through POST /v1/transactions.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Hex } from '../protocol/hash.ts';
import type { StateQueries } from '../state/queries.ts';
import { type ProveRead, proofQuery, sendProven, wantsProof } from './proofs.ts';

const proofOnly = { type: 'object', properties: proofQuery, additionalProperties: false } as const;

const object = { type: 'object', additionalProperties: true } as const;
const cvrParam = { type: 'string', pattern: '^\\d{8}$' } as const;
const notFound = { 404: { $ref: 'Error#' }, 400: { $ref: 'Error#' } };

export const contractRoutes: FastifyPluginAsync<{
  queries: StateQueries;
  prove?: ProveRead | undefined;
}> = async (app, { queries, prove }) => {
  app.get<{ Params: { cvr: string }; Querystring: { proof?: string } }>(
    '/v1/parties/:cvr',
    {
      schema: {
        description: 'A registered party (municipality or provider) and its keys.',
        params: { type: 'object', properties: { cvr: cvrParam }, required: ['cvr'] },
        querystring: proofOnly,
        response: { 200: object, ...notFound },
      },
    },
    async (request, reply) =>
      wantsProof(request.query)
        ? sendProven(reply, prove, { kind: 'party', cvr: request.params.cvr })
        : (queries.party(request.params.cvr) ??
          reply
            .code(404)
            .send({ code: 'PARTY_NOT_FOUND', message: `no party with CVR ${request.params.cvr}` })),
  );

  app.get<{ Params: { id: Hex }; Querystring: { proof?: string } }>(
    '/v1/contracts/:id',
    {
      schema: {
        description:
          'A contract with its terms, full timeline (every event, who approved in which role, at which height), open motions with what they still need, payment decisions and report duties.',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
          required: ['id'],
        },
        querystring: proofOnly,
        response: { 200: object, ...notFound },
      },
    },
    async (request, reply) =>
      wantsProof(request.query)
        ? sendProven(reply, prove, { kind: 'contract', id: request.params.id })
        : (queries.contract(request.params.id) ??
          reply.code(404).send({ code: 'CONTRACT_NOT_FOUND', message: `no contract ${request.params.id}` })),
  );

  app.get<{ Querystring: { party: string; proof?: string } }>(
    '/v1/contracts',
    {
      schema: {
        description: 'The contracts a municipality or provider is party to.',
        querystring: {
          type: 'object',
          properties: { party: cvrParam, ...proofQuery },
          required: ['party'],
        },
        response: { 200: object, 400: { $ref: 'Error#' } },
      },
    },
    async (request, reply) =>
      wantsProof(request.query)
        ? sendProven(reply, prove, { kind: 'contracts', party: request.query.party })
        : { contracts: queries.contracts(request.query.party) },
  );

  app.get<{ Querystring: { party: string; proof?: string } }>(
    '/v1/reports',
    {
      schema: {
        description: "Overdue and upcoming status reports on a party's contracts.",
        querystring: {
          type: 'object',
          properties: { party: cvrParam, ...proofQuery },
          required: ['party'],
        },
        response: { 200: object, 400: { $ref: 'Error#' } },
      },
    },
    async (request, reply) =>
      wantsProof(request.query)
        ? sendProven(reply, prove, { kind: 'reports', party: request.query.party })
        : { reports: queries.reports(request.query.party) },
  );

  app.get<{ Querystring: { municipality?: string; party?: string; month: string; proof?: string } }>(
    '/v1/payments',
    {
      schema: {
        description:
          "Payment decisions (release / withhold, amount in øre, period, reason) made in a calendar month of business time: a municipality's (`municipality`), or those a party sees (`party`: a municipality its own, a provider those on its contracts).",
        querystring: {
          type: 'object',
          properties: {
            municipality: cvrParam,
            party: cvrParam,
            month: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' },
            ...proofQuery,
          },
          required: ['month'],
          anyOf: [{ required: ['municipality'] }, { required: ['party'] }],
        },
        response: { 200: object, 400: { $ref: 'Error#' } },
      },
    },
    async (request, reply) => {
      const { municipality, party, month } = request.query;
      if (wantsProof(request.query))
        return sendProven(
          reply,
          prove,
          party !== undefined
            ? { kind: 'partyPayments', party, month }
            : { kind: 'payments', municipality: municipality as string, month },
        );
      return {
        decisions:
          party !== undefined
            ? queries.paymentsFor(party, month)
            : queries.payments(municipality as string, month),
      };
    },
  );

  // Query strings stay strings: the API does not coerce types (see server.ts), so parse here.
  app.get<{ Querystring: { after?: string; limit?: string; proof?: string } }>(
    '/v1/events',
    {
      schema: {
        description:
          'Finalized events after a height, oldest first. Continue from `next`. Event ids (`<height>-<n>`) are stable: use them to recognise duplicates.',
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'string', pattern: '^\\d{1,15}$', description: 'a height; default 0' },
            limit: { type: 'string', pattern: '^([1-9]\\d{0,2}|1000)$', description: '1-1000; default 100' },
            ...proofQuery,
          },
        },
        response: { 200: object, 400: { $ref: 'Error#' } },
      },
    },
    async (request, reply) => {
      const head = queries.head();
      const after = Number(request.query.after ?? 0);
      const limit = Number(request.query.limit ?? 100);
      // Proven pages scan at most PROVEN_EVENT_HEIGHTS heights (state/commitment/reads.ts).
      if (wantsProof(request.query)) return sendProven(reply, prove, { kind: 'events', after, limit });
      return { ...queries.eventsAfter(after, limit), head };
    },
  );
};
