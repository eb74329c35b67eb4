/**
 * What the contract routes share: who calls (and for which person), the contract facts
 * authorisation needs, and how a submission's outcome is answered.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import type { ContractSchemas } from '../../node/schemas/contract.ts';
import type { AccessLog } from '../access-log/log.ts';
import type { ContractFacts } from '../authorization.ts';
import type { Caller } from '../caller.ts';
import { GatewayError } from '../errors.ts';
import type { CertificateVerifier } from '../finality.ts';
import type { KeyStore } from '../keystore.ts';
import type { NodeRouter } from '../routing.ts';
import { rejection, type SubmitResult, type Submitter } from '../submission.ts';
import { USER_HEADER } from './contract-schemas.ts';

export interface ContractRouteDeps {
  readonly router: NodeRouter;
  readonly verifier: CertificateVerifier;
  readonly submitter: Submitter;
  readonly keyStore: KeyStore;
  /** Reads of a case's contracts are recorded here (gateway/access-log). */
  readonly accessLog?: AccessLog;
  /** The node's payload schemas the request bodies derive from; the protocol's by default. */
  readonly schemas?: ContractSchemas;
}

export const callerOf = (request: FastifyRequest): Caller => {
  if (!request.caller) throw new GatewayError('AUTH_REQUIRED', 'authenticate first');
  return request.caller;
};

export const userOf = (request: FastifyRequest): string | undefined => {
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

/** The contract a route's `:id` names, for a write on it (noted in the audit entry). */
export async function contractOfRoute(
  router: NodeRouter,
  request: FastifyRequest<{ Params: { id: Hex } }>,
): Promise<ContractFacts & JsonObject> {
  const contract = await contractFacts(router, callerOf(request), request.params.id);
  request.auditNotes.contract = request.params.id;
  return contract;
}

/** Sends a submission's result: 202 while pending, 200 once final, the chain's error if rejected. */
export function answer(request: FastifyRequest, reply: FastifyReply, result: SubmitResult, id?: string) {
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

export const wantsWait = (request: FastifyRequest) => (request.query as { wait?: string }).wait === 'true';
