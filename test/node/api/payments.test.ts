/**
 * `GET /v1/payments`: a provider sees the payment decisions of its own contracts — which sit in the
 * lists of the municipalities it contracts with — instead of an empty list (issue 10). Served by
 * the node's read routes over a chain run with the real state machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { contractRoutes } from '../../../node/api/contracts.ts';
import { errorSchema } from '../../../node/api/errors.ts';
import { stateQueries } from '../../../node/state/queries.ts';
import {
  CARE_HOME_CVR,
  CONSULTANT_CVR,
  chainWithDecisions,
  MUNICIPALITY_CVR,
  TAXI_CVR,
} from '../../fixtures/contracts.ts';

test('a provider’s payments are the decisions on its own contracts; the municipality still sees all', async (t) => {
  const chain = chainWithDecisions();
  const app = Fastify();
  app.addSchema(errorSchema);
  // Business day 0 (1970-01-01) as before: payments by month do not depend on it.
  const head = () => ({ height: chain.height(), timestamp: 0 });
  app.register(contractRoutes, { queries: stateQueries(chain.state, chain.genesis, head) });
  t.after(() => app.close());
  const get = async (query: string) => {
    const r = await app.inject({ method: 'GET', url: `/v1/payments?${query}` });
    return { status: r.statusCode, body: r.json() };
  };

  const all = await get(`municipality=${MUNICIPALITY_CVR}&month=2026-03`);
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.decisions.map((d: { provider: string }) => d.provider).sort(), [
    CARE_HOME_CVR,
    CONSULTANT_CVR,
  ]);
  assert.deepEqual((await get(`party=${MUNICIPALITY_CVR}&month=2026-03`)).body, all.body);

  const careHome = await get(`party=${CARE_HOME_CVR}&month=2026-03`);
  assert.equal(careHome.status, 200);
  assert.deepEqual(
    careHome.body.decisions.map((d: { provider: string; kind: string; amount: number }) => [
      d.provider,
      d.kind,
      d.amount,
    ]),
    [[CARE_HOME_CVR, 'release', 1_000_000]],
  );
  // A provider without contracts, and an unknown CVR, see nothing; no parameter is a 400.
  assert.deepEqual((await get(`party=${TAXI_CVR}&month=2026-03`)).body, { decisions: [] });
  assert.deepEqual((await get('party=99999999&month=2026-03')).body, { decisions: [] });
  assert.equal((await get('month=2026-03')).status, 400);
});
