/**
 * Approvals through the gateway route (issue 10): a second approval by the same system without
 * `x-tillid-user` is refused by the chain as `APPROVAL_EXISTS` — the answer says why and what to
 * send; and a caller who could approve in several roles must name one (`ROLE_REQUIRED`), nothing
 * submitted. The route runs on fastify with the caller set as authentication would set it, a
 * router that answers the contract, and a submitter that records what it was asked to sign.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Caller } from '../../gateway/caller.ts';
import { isGatewayError } from '../../gateway/errors.ts';
import { registerContractRoutes } from '../../gateway/routes/contracts.ts';
import type { NodeRouter } from '../../gateway/routing.ts';
import { errorSchema } from '../../gateway/schemas.ts';
import type { Submitter } from '../../gateway/submission.ts';
import { commitment, MUNICIPALITY_CVR } from '../contracts.ts';

const contract = commitment('contract');
const motion = commitment('motion');

async function route(privileges: string[]) {
  const app = Fastify();
  app.addSchema(errorSchema);
  const caller: Caller = {
    system: 'esdh',
    cvr: MUNICIPALITY_CVR,
    privileges: privileges.map((role) => ({ role })),
    via: 'token',
    transactionId: 't',
  };
  app.decorateRequest('caller', undefined);
  app.decorateRequest('auditNotes', null as never);
  app.addHook('onRequest', async (request) => {
    request.caller = caller;
    request.auditNotes = {};
  });
  app.setErrorHandler((error, _request, reply) =>
    isGatewayError(error)
      ? reply.code(error.status).send({ code: error.code, message: error.message })
      : reply.code(500).send({ code: 'INTERNAL', message: String(error) }),
  );
  const signed: unknown[] = [];
  const router = {
    get: async () => ({ municipality: MUNICIPALITY_CVR, provider: '11111111', motions: [{ id: motion }] }),
  } as unknown as NodeRouter;
  const submitter = {
    actorOf: () => 'a'.repeat(64),
    sign: async (_cvr: string, _type: string, payload: unknown) => {
      signed.push(payload);
      return {
        hash: commitment('tx'),
        outcome: {
          hash: commitment('tx'),
          status: 'rejected',
          code: 'APPROVAL_EXISTS',
          message: 'this actor has approved the motion already',
        },
      };
    },
  } as unknown as Submitter;
  const none = undefined as never;
  registerContractRoutes(app, { router, submitter, verifier: none, keyStore: none });
  await app.ready();
  const approve = async (body: object, headers: Record<string, string> = {}) => {
    const r = await app.inject({
      method: 'POST',
      url: `/v1/contracts/${contract}/motions/${motion}/approvals?wait=true`,
      payload: body,
      headers,
    });
    return { status: r.statusCode, body: r.json() };
  };
  return { app, approve, signed };
}

test('a repeated approval without x-tillid-user says why and what to send', async (t) => {
  const r = await route(['centre-chief']);
  t.after(() => r.app.close());
  const anonymous = await r.approve({});
  assert.equal(anonymous.status, 409);
  assert.equal(anonymous.body.code, 'APPROVAL_EXISTS');
  assert.match(anonymous.body.message, /x-tillid-user/);
  // With the header the chain's answer is passed on as it is.
  const named = await r.approve({}, { 'x-tillid-user': 'u-2002' });
  assert.equal(named.body.code, 'APPROVAL_EXISTS');
  assert.doesNotMatch(named.body.message, /x-tillid-user/);
});

test('a caller who could approve as centre chief or director must name the role; nothing is signed until it does', async (t) => {
  const r = await route(['centre-chief', 'director']);
  t.after(() => r.app.close());
  const unnamed = await r.approve({});
  assert.equal(unnamed.status, 400);
  assert.equal(unnamed.body.code, 'ROLE_REQUIRED');
  assert.equal(r.signed.length, 0);
  await r.approve({ role: 'centre-chief' }, { 'x-tillid-user': 'u-1' });
  assert.deepEqual(
    r.signed.map((p) => (p as { as: { role: string } }).as.role),
    ['centre-chief'],
  );
});
