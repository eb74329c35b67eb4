/**
 * Domain routes for contracts, approvals and status reports: a support system never builds a raw
 * transaction. Each write authorises the caller (authorization.ts), builds the `contract.*` or
 * `party.*` payload with `as: { party, role, actor }` and has the gateway sign it with the CVR's
 * submitter key (submission.ts). With `?wait=true` the answer is the chain's verdict from a
 * certified block; without it, 202 and the transaction hash to ask about later.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { type Action, authorize, type ContractFacts } from '../authorization.ts';
import type { Caller } from '../caller.ts';
import { GatewayError } from '../errors.ts';
import type { CertificateVerifier } from '../finality.ts';
import type { KeyStore } from '../keystore.ts';
import type { NodeRouter } from '../routing.ts';
import { actorHeaders, errorReplies } from '../schemas.ts';
import { rejection, type SubmitResult, type Submitter } from '../submission.ts';

export interface ContractRouteDeps {
  readonly router: NodeRouter;
  readonly verifier: CertificateVerifier;
  readonly submitter: Submitter;
  readonly keyStore: KeyStore;
}

/** An opaque reference to the person acting in the calling system; only its HMAC leaves the gateway. */
export const USER_HEADER = 'x-tillid-user';

const hash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const cvr = { type: 'string', pattern: '^\\d{8}$' } as const;
const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const code = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' } as const;
const role = {
  type: 'string',
  enum: ['caseworker', 'centre-chief', 'director', 'provider-representative'],
  description: 'the role to act in, when the caller holds several that allow the action',
} as const;
const waitQuery = {
  type: 'object',
  properties: { wait: { type: 'string', enum: ['true', 'false'], description: 'wait for finality' } },
} as const;
const items = {
  type: 'array',
  minItems: 1,
  maxItems: 32,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'monthly'],
    properties: {
      code,
      monthly: { type: 'integer', minimum: 1, maximum: 100_000_000, description: 'øre per month' },
      until: date,
    },
  },
} as const;

const submissionReply = {
  type: 'object',
  properties: {
    hash: { ...hash, description: 'the chain transaction' },
    id: { type: 'string', description: 'the id of what was created (contract, motion, template)' },
    status: { type: 'string', enum: ['pending', 'finalized'] },
    height: { type: 'integer' },
    block: {
      type: 'object',
      description: 'the block holding it, whose commit certificate the gateway verified',
      properties: { height: { type: 'integer' }, hash, signatures: { type: 'integer' } },
    },
  },
  required: ['hash', 'status'],
} as const;

const writeReplies = { 200: submissionReply, 202: submissionReply, ...errorReplies };
const anyObject = { type: 'object', additionalProperties: true } as const;

const callerOf = (request: FastifyRequest): Caller => {
  if (!request.caller) throw new GatewayError('AUTH_REQUIRED', 'authenticate first');
  return request.caller;
};

const userOf = (request: FastifyRequest): string | undefined => {
  const user = request.headers[USER_HEADER];
  if (user === undefined) return undefined;
  if (typeof user !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(user))
    throw new GatewayError('BAD_REQUEST', `${USER_HEADER} must be an opaque id of 1-128 characters`);
  return user;
};

/** The facts of a contract that authorisation needs, read from the caller's nodes. */
export async function contractFacts(
  router: NodeRouter,
  caller: Caller,
  id: Hex,
): Promise<ContractFacts & JsonObject> {
  const contract = await router.get<ContractFacts & JsonObject>(caller.cvr, `/v1/contracts/${id}`);
  if (!contract) throw new GatewayError('CONTRACT_NOT_FOUND', `no contract ${id}`);
  return contract;
}

/** Sends a submission's result: 202 while pending, 200 once final, the chain's error if rejected. */
function answer(request: FastifyRequest, reply: FastifyReply, result: SubmitResult, id?: string) {
  request.auditNotes.chainTransaction = result.hash;
  const base = { hash: result.hash, ...(id ? { id } : {}) };
  if (!result.outcome) return reply.code(202).send({ ...base, status: 'pending' });
  if (result.outcome.status === 'rejected') throw rejection(result.outcome);
  return reply.code(200).send({
    ...base,
    status: 'finalized',
    ...(result.outcome.height !== undefined ? { height: result.outcome.height } : {}),
    ...(result.outcome.block ? { block: result.outcome.block } : {}),
  });
}

const wantsWait = (request: FastifyRequest) => (request.query as { wait?: string }).wait === 'true';

export function registerContractRoutes(app: FastifyInstance, deps: ContractRouteDeps): void {
  const { router, submitter } = deps;

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
    {
      config: { access: { service: 'contracts', action: 'template.define' } },
      schema: {
        description:
          'Define a contract template of the caller’s municipality: approval policies per action (see the policy language in node/state/contracts/README.md). Directors only.',
        querystring: waitQuery,
        headers: actorHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'policies', 'releaseWithheldOnReport', 'approvalLifetimeDays'],
          properties: {
            code,
            policies: {
              type: 'object',
              additionalProperties: false,
              required: ['activate', 'amend', 'suspend', 'resume', 'terminate'],
              properties: {
                activate: anyObject,
                amend: anyObject,
                suspend: anyObject,
                resume: anyObject,
                terminate: anyObject,
              },
            },
            releaseWithheldOnReport: { type: 'boolean' },
            approvalLifetimeDays: { type: 'integer', minimum: 1, maximum: 365 },
            role,
          },
        },
        response: writeReplies,
      },
    },
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
    {
      config: { access: { service: 'contracts', action: 'provider.register' } },
      schema: {
        description:
          'Register a service provider (by CVR) as a party, with its signing key: `publicKey` if the provider signs itself, otherwise the key the gateway holds for it. The caller’s municipality is its registrar.',
        querystring: waitQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['cvr'],
          properties: { cvr, publicKey: hash },
        },
        response: writeReplies,
      },
    },
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
    {
      config: { access: { service: 'contracts', action: 'contract.create' } },
      schema: {
        description:
          'Draft a contract with a provider from one of the municipality’s templates. The contract id is the chain transaction hash. No personal data: refer to documents by their commitment.',
        querystring: waitQuery,
        headers: actorHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['template', 'provider', 'start', 'items', 'reportEveryMonths'],
          properties: {
            template: { type: 'string', pattern: '^\\d{8}/[a-z][a-z0-9-]{0,31}$' },
            provider: cvr,
            start: date,
            months: { type: 'integer', minimum: 1, maximum: 120 },
            items,
            reportEveryMonths: { type: 'integer', minimum: 0, maximum: 12 },
            parent: hash,
            onParentEnd: { type: 'string', enum: ['terminate', 'suspend'] },
            kle: { type: 'string', pattern: '^\\d{2}(\\.\\d{2}){0,2}$' },
            document: hash,
            role,
          },
        },
        response: writeReplies,
      },
    },
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

  app.get(
    '/v1/contracts',
    {
      config: { access: { service: 'contracts', action: 'contract.read' } },
      schema: {
        description: 'The contracts the caller’s organisation is party to.',
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      authorize(caller, 'contract.read');
      return router.get(caller.cvr, `/v1/contracts?party=${caller.cvr}`);
    },
  );

  app.get<{ Params: { id: Hex } }>(
    '/v1/contracts/:id',
    {
      config: { access: { service: 'contracts', action: 'contract.read' } },
      schema: {
        description:
          'A contract: terms, timeline, open motions with what they still need, payments, report duties. `verifiedHead` is the latest block whose commit certificate the gateway checked when answering.',
        params: { type: 'object', properties: { id: hash }, required: ['id'] },
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const contract = await contractFacts(router, caller, request.params.id);
      authorize(caller, 'contract.read', { contract });
      request.auditNotes.contract = request.params.id;
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

  app.post<{ Params: { id: Hex }; Body: JsonObject & { role?: string } }>(
    '/v1/contracts/:id/motions',
    {
      config: { access: { service: 'contracts', action: 'contract.propose' } },
      schema: {
        description:
          'Propose an action on a contract (activate, amend, suspend, resume, terminate). The proposer’s approval counts; the template’s policy says who else must approve. The motion id is the chain transaction hash.',
        params: { type: 'object', properties: { id: hash }, required: ['id'] },
        querystring: waitQuery,
        headers: actorHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { type: 'string', enum: ['activate', 'amend', 'suspend', 'resume', 'terminate'] },
            changes: {
              type: 'object',
              additionalProperties: false,
              properties: {
                items,
                months: { type: 'integer', minimum: 1, maximum: 120 },
                reportEveryMonths: { type: 'integer', minimum: 0, maximum: 12 },
              },
            },
            reason: code,
            document: hash,
            role,
          },
        },
        response: writeReplies,
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const contract = await contractFacts(router, caller, request.params.id);
      request.auditNotes.contract = request.params.id;
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
    {
      config: { access: { service: 'contracts', action: 'contract.approve' } },
      schema: {
        description:
          'Approve (co-sign) a motion on a contract. It executes in the transaction that satisfies the template’s policy.',
        params: { type: 'object', properties: { id: hash, motion: hash }, required: ['id', 'motion'] },
        querystring: waitQuery,
        headers: actorHeaders,
        body: { type: 'object', additionalProperties: false, properties: { role } },
        response: writeReplies,
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const contract = await contractFacts(router, caller, request.params.id);
      request.auditNotes.contract = request.params.id;
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
      return answer(request, reply, result);
    },
  );

  app.post<{ Params: { id: Hex }; Body: { period: number; document: Hex } }>(
    '/v1/contracts/:id/reports',
    {
      config: { access: { service: 'reports', action: 'contract.report' } },
      schema: {
        description:
          'Record the provider’s status report for a reporting period: `document` is the commitment of the report stored off chain (POST /v1/documents returns it).',
        params: { type: 'object', properties: { id: hash }, required: ['id'] },
        querystring: waitQuery,
        headers: actorHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['period', 'document'],
          properties: { period: { type: 'integer', minimum: 1, maximum: 1200 }, document: hash },
        },
        response: writeReplies,
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const contract = await contractFacts(router, caller, request.params.id);
      request.auditNotes.contract = request.params.id;
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

  app.get(
    '/v1/reports',
    {
      config: { access: { service: 'reports', action: 'contract.read' } },
      schema: {
        description: 'Overdue and upcoming status reports on the caller’s contracts.',
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      authorize(caller, 'contract.read');
      return router.get(caller.cvr, `/v1/reports?party=${caller.cvr}`);
    },
  );

  app.get<{ Querystring: { month: string } }>(
    '/v1/payments',
    {
      config: { access: { service: 'contracts', action: 'contract.read' } },
      schema: {
        description:
          'The payment decisions (release / withhold, amount in øre, reason) of the caller’s municipality in a month of business time.',
        querystring: {
          type: 'object',
          required: ['month'],
          properties: { month: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
        },
        response: { 200: anyObject, ...errorReplies },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      authorize(caller, 'contract.read');
      const decisions = await router.get<{ decisions: { provider?: string }[] }>(
        caller.cvr,
        `/v1/payments?municipality=${caller.cvr}&month=${request.query.month}`,
      );
      return decisions ?? { decisions: [] };
    },
  );
}
