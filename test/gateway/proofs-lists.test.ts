/**
 * The gateway's list views — `GET /v1/contracts`, `/v1/reports` and a provider's `/v1/payments` —
 * are served only as proven reads. A lying node (a proxy in front of a real node) is first in the
 * gateway's list and forges a contract's status in the list, the proven entry with it: the forgery
 * is refused, counted and never passed on; the caller gets the honest node's list, or
 * CHAIN_UNVERIFIED (502) when no node proves its answer. The gateway's contract routes run on
 * fastify with the caller set as authentication would set it, in front of a real NodeRouter and the
 * node's real read routes over HTTP, serving a real certified chain.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Caller } from '../../gateway/caller.ts';
import { gatewayStatusOf } from '../../gateway/errors.ts';
import { ProofChecker } from '../../gateway/proofs/checker.ts';
import { type ContractRouteDeps, registerContractRoutes } from '../../gateway/routes/contracts.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { contractRoutes as nodeReadRoutes } from '../../node/api/contracts.ts';
import { errorHandler, errorSchema } from '../../node/api/errors.ts';
import { proveRead } from '../../node/chain/prove.ts';
import { stateQueries } from '../../node/state/queries.ts';
import { CARE_HOME_CVR, MUNICIPALITY_CVR } from '../fixtures/contracts.ts';
import { certifiedContractsChain } from '../fixtures/proven-chain.ts';
import { type Loose, liar } from './liar.ts';

test('a forged contract status in a list from the first node is refused, counted and failed over', async (t) => {
  const { genesis, chain, ids } = await certifiedContractsChain();
  t.after(() => chain.close());

  // The honest node: the node's read routes over HTTP, with proofs from the chain.
  const node = Fastify();
  node.addSchema(errorSchema);
  const head = () => ({ height: chain.head.height, timestamp: chain.head.timestamp });
  node.register(nodeReadRoutes, {
    queries: stateQueries({ get: (k) => chain.readState(k) }, genesis, head),
    prove: (spec) => proveRead(chain, spec),
  });
  // What the router's health check reads.
  node.get('/v1/status', async () => ({
    chainId: genesis.chainId,
    genesisHash: '00',
    height: chain.head.height,
  }));
  await node.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => node.close());
  const honest = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;

  // The liar suspends the second contract wherever it appears: in the list and in its proof.
  const forge = (body: Loose) => {
    for (const c of body.value?.contracts ?? []) if (c.id === ids[1]) c.status = 'suspended';
    for (const e of body.entries ?? []) if (e.key === `contract/${ids[1]}`) e.value.status = 'suspended';
    // Its reports and payments: the overdue report and the decision on that contract left out.
    if (body.value?.reports)
      body.value.reports = body.value.reports.filter((d: Loose) => d.contract !== ids[1]);
    if (body.value?.decisions)
      body.value.decisions = body.value.decisions.filter((d: Loose) => d.contract !== ids[1]);
    return body;
  };
  const lying = await liar(t, honest, (_path, body) => forge(body));

  const warnings: string[] = [];
  const checker = new ProofChecker(genesis, {
    log: { warn: (o: Loose) => warnings.push(o.problem) } as never,
  });
  const routerOf = (nodes: string[]) => {
    const router = new NodeRouter({
      topology: 'central',
      municipalities: [{ cvr: MUNICIPALITY_CVR, nodes: [] }],
      sharedNodes: nodes,
      healthCheckIntervalMs: 60_000,
    });
    t.after(() => router.stop());
    router.requireProofs(checker);
    return router;
  };

  /** The gateway's contract routes for `cvr` in role `role`, reading through `router`. */
  const gatewayFor = async (router: NodeRouter, cvr: string, role: string) => {
    const app = Fastify();
    app.addSchema(errorSchema);
    app.setErrorHandler(errorHandler({ statusOf: gatewayStatusOf, server: 'the gateway' }));
    const caller: Caller = {
      system: 'test-system',
      cvr,
      privileges: [{ role }],
      via: 'certificate',
      transactionId: 't',
    };
    app.decorateRequest('caller', undefined);
    app.addHook('onRequest', async (request) => {
      request.caller = caller;
    });
    const none = undefined as never;
    const deps: ContractRouteDeps = { router, verifier: none, submitter: none, keyStore: none };
    registerContractRoutes(app, deps);
    await app.ready();
    t.after(() => app.close());
    return async (url: string) => {
      const r = await app.inject({ method: 'GET', url });
      return { status: r.statusCode, body: r.json() };
    };
  };

  // The liar first, the honest node second: every list is the honest one, with where it is proven.
  const router = routerOf([lying, honest]);
  const municipality = await gatewayFor(router, MUNICIPALITY_CVR, 'caseworker');
  const provider = await gatewayFor(router, CARE_HOME_CVR, 'provider-representative');
  const contracts = await municipality('/v1/contracts');
  assert.equal(contracts.status, 200, JSON.stringify(contracts.body));
  assert.deepEqual(
    contracts.body.contracts.map((c: Loose) => [c.id, c.status]),
    ids.map((id) => [id, 'active']),
    'the honest statuses, not the forged one',
  );
  assert.equal(contracts.body.provenAt.height, chain.head.height);
  assert.equal(await checker.unverifiedCount(), 1);
  assert.match(warnings[0] as string, /does not lead to the state root/);

  await router.checkAll(); // the liar answers its health check again (it forwards /v1/status)
  const reports = await provider('/v1/reports');
  assert.equal(reports.status, 200, JSON.stringify(reports.body));
  assert.deepEqual(
    reports.body.reports.filter((d: Loose) => d.status === 'overdue').map((d: Loose) => d.contract),
    ids,
    'the overdue report the liar left out is there',
  );
  await router.checkAll();
  const payments = await provider('/v1/payments?month=2026-03');
  assert.equal(payments.status, 200, JSON.stringify(payments.body));
  assert.deepEqual(
    payments.body.decisions.map((d: Loose) => d.contract),
    ids,
    'the payment decision the liar left out is there',
  );
  assert.ok(payments.body.provenAt, "a provider's payments are a proven read");
  assert.equal(await checker.unverifiedCount(), 3);
  // The forged contract record is among the proven entries of each list: its proof fails.
  for (const w of warnings) assert.match(w, /does not lead to the state root/);

  // Only the liar: the caller gets 502 CHAIN_UNVERIFIED, never the forged list.
  const alone = await gatewayFor(routerOf([lying]), MUNICIPALITY_CVR, 'caseworker');
  for (const path of ['/v1/contracts', '/v1/reports']) {
    const refused = await alone(path);
    assert.equal(refused.status, 502, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CHAIN_UNVERIFIED');
  }
  assert.equal(await checker.unverifiedCount(), 5);
});
