/**
 * One schema per action, used twice: the node's admission and the gateway's request bodies and
 * OpenAPI document come from the same definitions (node/schemas/). A limit changed in one place
 * changes both; with the protocol's limits both show the node's (16 line items, report periods up
 * to 120), where the gateway used to accept 32 and 1200.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { type ContractRouteDeps, registerContractRoutes } from '../../gateway/routes/contracts.ts';
import { errorSchema } from '../../node/api/errors.ts';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { TillidError } from '../../node/protocol/errors.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';
import { contractSchemas } from '../../node/schemas/contract.ts';
import { LIMITS, type PayloadLimits } from '../../node/schemas/limits.ts';
import { contractModule } from '../../node/state/contracts/module.ts';
import { actorId, commitment, contractsGenesis, MUNICIPALITY_CVR } from '../contracts.ts';

const as = { party: MUNICIPALITY_CVR, role: 'caseworker', actor: actorId('caseworker') };
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ code: `item-${i}`, monthly: 1000 }));
const draft = (n: number) => ({
  template: `${MUNICIPALITY_CVR}/placement`,
  provider: '11111111',
  start: '2026-02-01',
  items: items(n),
  reportEveryMonths: 1,
});

/** The node's verdict on a payload: undefined when the stateless checks pass, else the path. */
function nodeCheck(limits: PayloadLimits, action: string, payload: JsonObject): string | undefined {
  const module = contractModule(contractsGenesis([generateKeyPair()]), limits);
  try {
    module.actions[action]?.check(payload);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof TillidError && e.code === 'TX_PAYLOAD_INVALID', String(e));
    return (e.details as { path?: string } | undefined)?.path ?? 'payload';
  }
}

/** The gateway's contract routes on a bare fastify, with the schemas built from `limits`. */
async function gateway(limits: PayloadLimits) {
  const app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  app.addSchema(errorSchema);
  await app.register(swagger, { openapi: { info: { title: 'test', version: '1' } } });
  // Requests that pass validation reach a handler, which needs a caller and nodes: none here, so
  // they fail there — after validation, which is what these tests look at.
  const none = undefined as never;
  const deps: ContractRouteDeps = { router: none, verifier: none, submitter: none, keyStore: none };
  registerContractRoutes(app, { ...deps, schemas: contractSchemas(limits) });
  await app.ready();
  const post = async (url: string, body: unknown) => {
    const r = await app.inject({ method: 'POST', url, payload: body as object });
    return { status: r.statusCode, validation: r.json().code === 'FST_ERR_VALIDATION' };
  };
  // biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is read by assertions
  const doc = app.swagger() as any;
  const bodyOf = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema;
  return { app, post, bodyOf };
}

test('the protocol limits: the node and the gateway agree, and the OpenAPI document shows them', async (t) => {
  assert.equal(nodeCheck(LIMITS, 'create', { as, ...draft(16) }), undefined);
  assert.equal(nodeCheck(LIMITS, 'create', { as, ...draft(17) }), 'items');
  const report = (period: number) => ({ as, contract: commitment('c'), period, document: commitment('d') });
  assert.equal(nodeCheck(LIMITS, 'report', report(120)), undefined);
  assert.equal(nodeCheck(LIMITS, 'report', report(121)), 'period');

  const g = await gateway(LIMITS);
  t.after(() => g.app.close());
  assert.equal(g.bodyOf('/v1/contracts').properties.items.maxItems, 16);
  assert.equal(g.bodyOf('/v1/contracts/{id}/motions').properties.changes.anyOf, undefined);
  assert.equal(g.bodyOf('/v1/contracts/{id}/motions').properties.changes.properties.items.maxItems, 16);
  assert.equal(g.bodyOf('/v1/contracts/{id}/reports').properties.period.maximum, 120);
  assert.deepEqual(await g.post('/v1/contracts', draft(17)), { status: 400, validation: true });
  assert.equal((await g.post('/v1/contracts', draft(16))).validation, false);
  const id = commitment('c');
  assert.deepEqual(await g.post(`/v1/contracts/${id}/reports`, { period: 121, document: id }), {
    status: 400,
    validation: true,
  });
  assert.equal(
    (await g.post(`/v1/contracts/${id}/reports`, { period: 120, document: id })).validation,
    false,
  );
  // x-tillid-user is documented where it is taken.
  const params = (g.app.swagger() as { paths: Record<string, { post: { parameters: { name: string }[] } }> })
    .paths['/v1/contracts/{id}/motions/{motion}/approvals']?.post.parameters;
  assert.ok(params?.some((p) => p.name === 'x-tillid-user'));
});

test('a limit changed in one place changes both the node’s admission and the gateway’s validation and OpenAPI', async (t) => {
  const limits: PayloadLimits = { ...LIMITS, maxItems: 3, maxMonths: 24 };
  assert.equal(nodeCheck(limits, 'create', { as, ...draft(3) }), undefined);
  assert.equal(nodeCheck(limits, 'create', { as, ...draft(4) }), 'items');
  const report = (period: number) => ({ as, contract: commitment('c'), period, document: commitment('d') });
  assert.equal(nodeCheck(limits, 'report', report(25)), 'period');

  const g = await gateway(limits);
  t.after(() => g.app.close());
  assert.equal(g.bodyOf('/v1/contracts').properties.items.maxItems, 3);
  assert.equal(g.bodyOf('/v1/contracts').properties.months.maximum, 24);
  assert.equal(g.bodyOf('/v1/contracts/{id}/reports').properties.period.maximum, 24);
  assert.deepEqual(await g.post('/v1/contracts', draft(4)), { status: 400, validation: true });
  assert.equal((await g.post('/v1/contracts', draft(3))).validation, false);
  const id = commitment('c');
  assert.deepEqual(await g.post(`/v1/contracts/${id}/reports`, { period: 25, document: id }), {
    status: 400,
    validation: true,
  });
});
