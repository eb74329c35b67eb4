/**
 * A provider's `GET /v1/payments` through the gateway shows the payment decisions on its own
 * contracts (issue 10: it answered an empty list while the municipality's list held them). The
 * gateway's route runs on fastify with the caller set as authentication would set it, in front of
 * the node's real read routes over a chain run with the real state machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Caller } from '../../gateway/caller.ts';
import { type ContractRouteDeps, registerContractRoutes } from '../../gateway/routes/contracts.ts';
import type { NodeRouter } from '../../gateway/routing.ts';
import { contractRoutes as nodeReadRoutes } from '../../node/api/contracts.ts';
import { errorSchema } from '../../node/api/errors.ts';
import { stateQueries } from '../../node/state/queries.ts';
import {
  CARE_HOME_CVR,
  CONSULTANT_CVR,
  chainWithDecisions,
  MUNICIPALITY_CVR,
  type memoryChain,
} from '../fixtures/contracts.ts';

async function nodeApi(chain: ReturnType<typeof memoryChain>): Promise<FastifyInstance> {
  const app = Fastify();
  app.addSchema(errorSchema);
  // Business day 0 (1970-01-01) as before: payments by month do not depend on it.
  const head = () => ({ height: chain.height(), timestamp: 0 });
  app.register(nodeReadRoutes, { queries: stateQueries(chain.state, chain.genesis, head) });
  await app.ready();
  return app;
}

async function gatewayFor(node: FastifyInstance, cvr: string, role: string) {
  const app = Fastify();
  app.addSchema(errorSchema);
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
  // The router asks the node's read routes, as it would over HTTP; the municipality is the one
  // it is configured to serve, so its read is the provable `?municipality=` one.
  const router = {
    get: async <T>(_cvr: string, path: string) =>
      (await node.inject({ method: 'GET', url: path })).json() as T,
    isMunicipality: (c: string) => c === MUNICIPALITY_CVR,
  } as unknown as NodeRouter;
  const none = undefined as never;
  const deps: ContractRouteDeps = { router, verifier: none, submitter: none, keyStore: none };
  registerContractRoutes(app, deps);
  await app.ready();
  return async (url: string) => {
    const r = await app.inject({ method: 'GET', url });
    return { status: r.statusCode, body: r.json() };
  };
}

test('a provider’s GET /v1/payments lists the decisions on its own contracts; the municipality’s lists all', async (t) => {
  const node = await nodeApi(chainWithDecisions());
  t.after(() => node.close());
  const municipality = await (await gatewayFor(node, MUNICIPALITY_CVR, 'caseworker'))(
    '/v1/payments?month=2026-03',
  );
  assert.equal(municipality.status, 200);
  const providers = municipality.body.decisions.map((d: { provider: string }) => d.provider).sort();
  assert.deepEqual(providers, [CARE_HOME_CVR, CONSULTANT_CVR]);

  const careHome = await (await gatewayFor(node, CARE_HOME_CVR, 'provider-representative'))(
    '/v1/payments?month=2026-03',
  );
  assert.equal(careHome.status, 200);
  assert.deepEqual(
    careHome.body.decisions.map((d: { provider: string; kind: string }) => [d.provider, d.kind]),
    [[CARE_HOME_CVR, 'release']],
  );
});
