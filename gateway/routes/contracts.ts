/**
 * Domain routes for contracts, approvals and status reports: a support system never builds a raw
 * transaction. Each write authorises the caller (authorization.ts), builds the `contract.*` or
 * `party.*` payload with `as: { party, role, actor }` and has the gateway sign it with the CVR's
 * submitter key (submission.ts). With `?wait=true` the answer is the chain's verdict from a
 * certified block; without it, 202 and the transaction hash to ask about later. Request bodies
 * derive from the node's payload schemas (contract-schemas.ts); reads are in contract-reads.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { type Action, authorize, type ContractFacts } from '../authorization.ts';
import { GatewayError } from '../errors.ts';
import {
  answer,
  type ContractRouteDeps,
  callerOf,
  contractOfRoute,
  userOf,
  wantsWait,
} from './contract-calls.ts';
import { registerContractReadRoutes } from './contract-reads.ts';
import { contractBodies, hash, idParams, USER_HEADER, writeRoute } from './contract-schemas.ts';

export type { ContractRouteDeps } from './contract-calls.ts';
export { contractFacts } from './contract-calls.ts';
export { USER_HEADER } from './contract-schemas.ts';

export function registerContractRoutes(app: FastifyInstance, deps: ContractRouteDeps): void {
  const { router, submitter } = deps;
  const bodies = contractBodies(deps.schemas);
  registerContractReadRoutes(app, deps);

  /** Authorises, then signs `type` with `payload` + `as` for the caller's CVR. */
  const act = async (
    request: FastifyRequest,
    action: Action,
    type: string,
    payload: JsonObject,
    o: { contract?: ContractFacts; kle?: string; role?: string } = {},
  ) => {
    const caller = callerOf(request);
    const decision = authorize(caller, action, o);
    const actor = submitter.actorOf(caller, userOf(request));
    request.auditNotes.actor = actor;
    const as = { party: caller.cvr, role: decision.role, actor };
    return submitter.sign(caller.cvr, type, { ...payload, as }, wantsWait(request));
  };

  app.post<{ Body: JsonObject & { role?: string } }>(
    '/v1/templates',
    writeRoute(
      { service: 'contracts', action: 'template.define' },
      {
        description:
          'Define a contract template of the caller’s municipality: approval policies per action (see the policy language in node/state/contracts/README.md). Directors only.',
        body: bodies.template,
      },
    ),
    async (request, reply) => {
      const { role: asRole, ...payload } = request.body;
      const result = await act(request, 'template.define', 'contract.defineTemplate', payload, {
        ...(asRole ? { role: asRole } : {}),
      });
      return answer(request, reply, result, `${callerOf(request).cvr}/${payload.code}`);
    },
  );

  app.post<{ Body: { cvr: string; publicKey?: string } }>(
    '/v1/providers',
    writeRoute(
      { service: 'contracts', action: 'provider.register' },
      {
        description:
          'Register a service provider (by CVR) as a party, with its signing key: `publicKey` if the provider signs itself, otherwise the key the gateway holds for it. The caller’s municipality is its registrar.',
        body: bodies.provider,
        user: false,
      },
    ),
    async (request, reply) => {
      const caller = callerOf(request);
      authorize(caller, 'provider.register');
      const publicKey = request.body.publicKey ?? deps.keyStore.signer(request.body.cvr)?.publicKey;
      if (!publicKey)
        throw new GatewayError(
          'NO_SUBMITTER_KEY',
          `no publicKey given and the gateway holds no key for ${request.body.cvr}`,
        );
      const result = await submitter.sign(
        caller.cvr,
        'party.register',
        {
          cvr: request.body.cvr,
          kind: 'provider',
          keys: [{ publicKey, roles: ['provider-representative'] }],
        },
        wantsWait(request),
      );
      return answer(request, reply, result, request.body.cvr);
    },
  );

  app.post<{ Body: JsonObject & { role?: string; kle?: string } }>(
    '/v1/contracts',
    writeRoute(
      { service: 'contracts', action: 'contract.create' },
      {
        description:
          'Draft a contract with a provider from one of the municipality’s templates. The contract id is the chain transaction hash. No personal data: refer to documents by their commitment.',
        body: bodies.contract,
      },
    ),
    async (request, reply) => {
      const { role: asRole, ...payload } = request.body;
      const result = await act(request, 'contract.create', 'contract.create', payload, {
        ...(payload.kle ? { kle: payload.kle } : {}),
        ...(asRole ? { role: asRole } : {}),
      });
      request.auditNotes.contract = result.hash;
      return answer(request, reply, result, result.hash);
    },
  );

  app.post<{ Params: { id: Hex }; Body: JsonObject & { role?: string } }>(
    '/v1/contracts/:id/motions',
    writeRoute(
      { service: 'contracts', action: 'contract.propose' },
      {
        description:
          'Propose an action on a contract (activate, amend, suspend, resume, terminate). The proposer’s approval counts; the template’s policy says who else must approve. The motion id is the chain transaction hash.',
        params: idParams,
        body: bodies.motion,
      },
    ),
    async (request, reply) => {
      const contract = await contractOfRoute(router, request);
      const { role: asRole, ...rest } = request.body;
      const result = await act(
        request,
        'contract.propose',
        'contract.propose',
        { contract: request.params.id, ...rest },
        { contract, ...(asRole ? { role: asRole } : {}) },
      );
      return answer(request, reply, result, result.hash);
    },
  );

  app.post<{ Params: { id: Hex; motion: Hex }; Body: { role?: string } }>(
    '/v1/contracts/:id/motions/:motion/approvals',
    writeRoute(
      { service: 'contracts', action: 'contract.approve' },
      {
        description:
          'Approve (co-sign) a motion on a contract. It executes in the transaction that satisfies the template’s policy.',
        params: { type: 'object', properties: { id: hash, motion: hash }, required: ['id', 'motion'] },
        body: bodies.approval,
      },
    ),
    async (request, reply) => {
      const contract = await contractOfRoute(router, request);
      const motions = (contract as { motions?: { id: string }[] }).motions ?? [];
      if (!motions.some((m) => m.id === request.params.motion))
        throw new GatewayError('MOTION_NOT_FOUND', 'no such motion on this contract');
      const asRole = request.body?.role;
      const result = await act(
        request,
        'contract.approve',
        'contract.approve',
        { motion: request.params.motion },
        { contract, ...(asRole ? { role: asRole } : {}) },
      );
      // Without x-tillid-user every call of one system is one actor: say so, since the chain's
      // "this actor has approved already" does not tell a second person of that system why.
      const outcome = result.outcome;
      if (
        outcome?.status === 'rejected' &&
        outcome.code === 'APPROVAL_EXISTS' &&
        userOf(request) === undefined
      )
        throw new GatewayError(
          'APPROVAL_EXISTS',
          `${outcome.message ?? 'approved already'}; without ${USER_HEADER} every call of this system is one actor — name the person approving in ${USER_HEADER}`,
        );
      return answer(request, reply, result);
    },
  );

  app.post<{ Params: { id: Hex }; Body: { period: number; document: Hex } }>(
    '/v1/contracts/:id/reports',
    writeRoute(
      { service: 'reports', action: 'contract.report' },
      {
        description:
          'Record the provider’s status report for a reporting period: `document` is the commitment of the report stored off chain (POST /v1/documents returns it).',
        params: idParams,
        body: bodies.report,
      },
    ),
    async (request, reply) => {
      const contract = await contractOfRoute(router, request);
      const result = await act(
        request,
        'contract.report',
        'contract.report',
        { contract: request.params.id, period: request.body.period, document: request.body.document },
        { contract },
      );
      return answer(request, reply, result);
    },
  );
}
