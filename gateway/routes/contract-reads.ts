/**
 * Read routes for contracts: the caller's contracts, one contract with the head the gateway
 * verified, report duties and payment decisions — each read from the caller's nodes and shown only
 * to a party of the contract (authorization.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Hex } from '../../node/protocol/hash.ts';
import { purposeOf } from '../access-log/log.ts';
import { authorize } from '../authorization.ts';
import type { Service } from '../config.ts';
import { type ContractRouteDeps, callerOf, contractFacts } from './contract-calls.ts';
import { idParams, readReplies } from './contract-schemas.ts';

export function registerContractReadRoutes(app: FastifyInstance, deps: ContractRouteDeps): void {
  const { router } = deps;

  /** `path` on the caller's nodes, for the caller's organisation as a party (`?party=<cvr>`). */
  const partyRead = (path: string, service: Service, description: string) =>
    app.get(
      path,
      {
        config: { access: { service, action: 'contract.read' } },
        schema: { description, response: readReplies },
      },
      async (request) => {
        const caller = callerOf(request);
        authorize(caller, 'contract.read');
        return router.get(caller.cvr, `${path}?party=${caller.cvr}`);
      },
    );

  partyRead('/v1/contracts', 'contracts', 'The contracts the caller’s organisation is party to.');

  app.get<{ Params: { id: Hex } }>(
    '/v1/contracts/:id',
    {
      config: { access: { service: 'contracts', action: 'contract.read' } },
      schema: {
        description:
          'A contract: terms, timeline, open motions with what they still need, payments, report duties. `verifiedHead` is the latest block whose commit certificate the gateway checked when answering.',
        params: idParams,
        response: readReplies,
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const contract = await contractFacts(router, caller, request.params.id);
      authorize(caller, 'contract.read', { contract });
      request.auditNotes.contract = request.params.id;
      // A read of a case's contract by a support system: in the case's access log, the system named.
      if (contract.caseRef && deps.accessLog)
        await deps.accessLog.record({
          caseRef: contract.caseRef as Hex,
          municipality: contract.municipality as string,
          cvr: caller.cvr,
          purpose: purposeOf(caller, contract.municipality as string),
          system: caller.system,
        });
      const head = await deps.verifier.certifiedBlock(caller.cvr, 'latest');
      return {
        ...contract,
        verifiedHead: {
          height: head.header.height,
          hash: head.hash,
          signatures: head.certificate?.signatures.length,
        },
      };
    },
  );

  partyRead('/v1/reports', 'reports', 'Overdue and upcoming status reports on the caller’s contracts.');

  app.get<{ Querystring: { month: string } }>(
    '/v1/payments',
    {
      config: { access: { service: 'contracts', action: 'contract.read' } },
      schema: {
        description:
          'The payment decisions (release / withhold, amount in øre, reason) in a month of business time: a municipality sees its own, a provider those on its contracts.',
        querystring: {
          type: 'object',
          required: ['month'],
          properties: { month: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
        },
        response: readReplies,
      },
    },
    async (request) => {
      const caller = callerOf(request);
      authorize(caller, 'contract.read');
      // A municipality's decisions are one list in state (`?municipality=`); a provider's view is
      // gathered from every municipality it has contracts with (`?party=`). Both come proven.
      const who = router.isMunicipality(caller.cvr) ? 'municipality' : 'party';
      const decisions = await router.get<{ decisions: { provider?: string }[] }>(
        caller.cvr,
        `/v1/payments?${who}=${caller.cvr}&month=${request.query.month}`,
      );
      return decisions ?? { decisions: [] };
    },
  );
}
