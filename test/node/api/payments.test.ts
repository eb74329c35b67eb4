/**
 * `GET /v1/payments`: a provider sees the payment decisions of its own contracts — which sit in the
 * lists of the municipalities it contracts with — instead of an empty list (issue 10). Served by
 * the node's read routes over a chain run with the real state machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { contractRoutes } from '../../../node/api/contracts.ts';
import { errorSchema } from '../../../node/api/schemas.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { stateQueries } from '../../../node/state/queries.ts';
import {
  CARE_HOME_CVR,
  CONSULTANT_CVR,
  castOfCase,
  contractsGenesis,
  MUNICIPALITY_CVR,
  memoryChain,
  setUpCase,
  TAXI_CVR,
  txBuilder,
} from '../../contracts.ts';

test('a provider’s payments are the decisions on its own contracts; the municipality still sees all', async (t) => {
  const cast = castOfCase();
  const genesis = contractsGenesis([cast.authority]);
  const chain = memoryChain(genesis);
  const b = txBuilder(genesis.chainId);
  const template = setUpCase(chain, b, cast);
  for (const [rep, monthly] of [
    [cast.careHomeRep, 4_500_000],
    [cast.consultantRep, 1_000_000],
  ] as const) {
    const create = b.create(cast.caseworker, {
      template,
      provider: rep.cvr,
      start: '2026-02-01',
      items: [{ code: 'service', monthly }],
      reportEveryMonths: 0,
    });
    chain.block(create);
    chain.block(b.proposeCosigned(cast.caseworker, transactionHash(create), 'activate', [rep]));
  }
  while (chain.height() < 70) chain.block(); // past the first two due dates (1 March, 1 April)

  const app = Fastify();
  app.addSchema(errorSchema);
  // Business day 0 (1970-01-01) as before: payments by month do not depend on it.
  const head = () => ({ height: chain.height(), timestamp: 0 });
  app.register(contractRoutes, { queries: stateQueries(chain.state, genesis, head) });
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
    [[CARE_HOME_CVR, 'release', 4_500_000]],
  );
  // A provider without contracts, and an unknown CVR, see nothing; no parameter is a 400.
  assert.deepEqual((await get(`party=${TAXI_CVR}&month=2026-03`)).body, { decisions: [] });
  assert.deepEqual((await get('party=99999999&month=2026-03')).body, { decisions: [] });
  assert.equal((await get('month=2026-03')).status, 400);
});
