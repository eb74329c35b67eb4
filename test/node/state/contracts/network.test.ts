/**
 * The placement case against a real network: four authority processes (libp2p over TCP, Tendermint,
 * LevelDB) on an accelerated business clock, driven only through the node HTTP API the way a
 * support system would. Business time moves on its own here, so the test reacts to it — a status
 * report goes in as soon as its month has begun — and asserts what must hold however the timing
 * falls: every month paid exactly once, never before its report, the cascade in one block, and
 * the same state on every node and in a replay from the genesis.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNodeConfigKey } from '../../../../node/custody/key-file.ts';
import type { Hex } from '../../../../node/protocol/hash.ts';
import { type Transaction, transactionHash } from '../../../../node/protocol/transaction.ts';
import { addMonths, DAY_MS, formatDate, parseDate } from '../../../../node/state/contracts/calendar.ts';
import {
  CARE_HOME_CVR,
  CONSULTANT_CVR,
  castOfCase,
  commitment,
  MUNICIPALITY_CVR,
  TAXI_CVR,
  txBuilder,
} from '../../../fixtures/contracts.ts';
import { getJson, tempDir, waitFor } from '../../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
} from '../../../fixtures/processes.ts';

const CHAIN = 'tillid-case';
const MONTHLY = 5_500_000;

test('the placement case on four authority processes: paid monthly, reports before release, cascade, one state everywhere', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, CHAIN, 5, ['--business-days-per-block', '2']);
  const nodes = await startNodeProcesses(t, configs);
  const [first, , , last] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
  const authorityKey = readNodeConfigKey(configs[0] as string);
  const cast = castOfCase();
  const b = txBuilder(CHAIN);

  const status = () => getJson(`${first.url}/v1/status`);
  const submit = async (node: NodeProcess, txs: Transaction[]) => {
    const response = await fetch(`${node.url}/v1/transactions/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transactions: txs }),
    });
    assert.equal(response.status, 200, await response.clone().text());
  };
  /** Submits to node 1 and waits until node 4 has them final; every receipt must be OK. */
  const finalize = async (...txs: Transaction[]) => {
    await submit(first, txs);
    for (const tx of txs) {
      const view = await waitFor(async () => {
        const v = await getJson(`${last.url}/v1/transactions/${transactionHash(tx)}`);
        return v.status === 'pending' || v.code === 'NOT_FOUND' ? undefined : v;
      }, 20_000);
      assert.equal(view.status, 'finalized', `${tx.type}: ${view.code} ${view.message ?? ''}`);
    }
  };

  const clock = (await status()).clock;
  assert.equal(clock.kind, 'accelerated');
  assert.equal(clock.msPerBlock, 2 * DAY_MS);

  await finalize(
    b.registerMunicipality(authorityKey, MUNICIPALITY_CVR, [
      { publicKey: cast.municipalAdmin.publicKey, roles: [], admin: true },
      { publicKey: cast.submitter.publicKey, roles: ['caseworker', 'centre-chief', 'director'] },
    ]),
  );
  await finalize(
    b.registerProvider(cast.municipalAdmin, CARE_HOME_CVR, cast.careHome.key),
    b.registerProvider(cast.municipalAdmin, CONSULTANT_CVR, cast.consultant.key),
    b.registerProvider(cast.municipalAdmin, TAXI_CVR, cast.taxi.key),
    b.defineTemplate(cast.director, 'placement'),
  );

  // The placement starts on the 1st of the coming month, in business time.
  const today = parseDate((await status()).clock.businessDate) as number;
  const next = new Date((today + 3) * DAY_MS);
  const start = formatDate(Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1) / DAY_MS);
  const template = `${MUNICIPALITY_CVR}/placement`;
  const placement = b.create(cast.caseworker, {
    template,
    provider: CARE_HOME_CVR,
    start,
    reportEveryMonths: 3,
    kle: '27.24.00',
    items: [
      { code: 'residential', monthly: 4_500_000 },
      { code: 'school', monthly: 1_000_000 },
    ],
  });
  const placementId = transactionHash(placement);
  await finalize(placement);
  const consultant = b.create(cast.caseworker, {
    template,
    provider: CONSULTANT_CVR,
    start,
    reportEveryMonths: 3,
    items: [{ code: 'supervised-contact', monthly: 1_200_000 }],
    parent: placementId,
    onParentEnd: 'terminate',
  });
  const taxi = b.create(cast.caseworker, {
    template,
    provider: TAXI_CVR,
    start,
    months: 3,
    reportEveryMonths: 0,
    items: [{ code: 'school-taxi', monthly: 600_000 }],
    parent: placementId,
    onParentEnd: 'terminate',
  });
  await finalize(consultant, taxi);
  const ids = {
    placement: placementId,
    consultant: transactionHash(consultant),
    taxi: transactionHash(taxi),
  };
  // Two-party activation: the caseworker proposes, the provider co-signs. Dependants need an
  // active parent, so the placement goes first.
  const activate = async (id: Hex, rep: typeof cast.careHomeRep) => {
    const proposal = b.propose(cast.caseworker, id, 'activate');
    await finalize(proposal);
    await finalize(b.approve(rep, transactionHash(proposal)));
  };
  await activate(ids.placement, cast.careHomeRep);
  await Promise.all([activate(ids.consultant, cast.consultantRep), activate(ids.taxi, cast.taxiRep)]);

  // The providers report each quarter as soon as the quarter's last month has begun.
  const reported = new Set<string>();
  const startDay = parseDate(start) as number;
  await waitFor(async () => {
    const businessDay = parseDate((await status()).clock.businessDate) as number;
    const due: Transaction[] = [];
    for (const period of [3, 6, 9, 12]) {
      if (addMonths(startDay, period - 1) > businessDay) continue;
      for (const [id, rep] of [
        [ids.placement, cast.careHomeRep],
        [ids.consultant, cast.consultantRep],
      ] as const) {
        if (reported.has(`${id}:${period}`)) continue;
        reported.add(`${id}:${period}`);
        due.push(b.report(rep, id, period, commitment(`${id}-${period}`)));
      }
    }
    if (due.length > 0) await submit(first, due);
    const view = await getJson(`${last.url}/v1/contracts/${ids.placement}`);
    return view.decided >= 12 ? view : undefined;
  }, 150_000);

  // After 12 months the child returns home: both parties sign the termination.
  const end = b.propose(cast.caseworker, ids.placement, 'terminate', { reason: 'returned-home' });
  await finalize(end);
  await finalize(b.approve(cast.careHomeRep, transactionHash(end)));

  const view = async (node: NodeProcess, id: Hex) => getJson(`${node.url}/v1/contracts/${id}`);
  const placementView = await view(last, ids.placement);
  assert.equal(placementView.status, 'terminated');
  const released = placementView.payments.filter((e: { type: string }) => e.type === 'payment.released');
  assert.deepEqual(
    released.map((e: { period: number }) => e.period).sort((a: number, c: number) => a - c),
    Array.from({ length: placementView.decided }, (_, i) => i + 1),
    'every decided month released exactly once (a late report releases a withheld month)',
  );
  assert.equal(placementView.released, placementView.decided * MONTHLY);
  // Never released before its report: each release of a reporting month comes at or after the report.
  for (const e of released as { period: number; height: number }[]) {
    for (let k = 3; k <= e.period; k += 3) {
      const report = placementView.timeline.find(
        (x: { type: string; period: number }) => x.type === 'report.received' && x.period === k,
      );
      assert.ok(
        report && report.height <= e.height,
        `month ${e.period} released at ${e.height} before report ${k}`,
      );
    }
  }
  // The cascade: the consultant's contract ended in the placement's termination block; the taxi had expired.
  const terminatedAt = placementView.timeline.find(
    (e: { type: string }) => e.type === 'contract.terminated',
  ).height;
  const consultantView = await view(last, ids.consultant);
  assert.equal(consultantView.status, 'terminated');
  assert.equal(consultantView.timeline.at(-1).height, terminatedAt);
  assert.equal(consultantView.timeline.at(-1).cause, 'parent-terminated');
  const taxiView = await view(last, ids.taxi);
  assert.equal(taxiView.status, 'expired');
  assert.equal(taxiView.released, 3 * 600_000);

  // The read models: payment decisions per month, and the event feed.
  const firstDue = formatDate(addMonths(startDay, 1)).slice(0, 7);
  const decisions = await getJson(
    `${last.url}/v1/payments?municipality=${MUNICIPALITY_CVR}&month=${firstDue}`,
  );
  assert.ok(decisions.decisions.some((d: { contract: string }) => d.contract === ids.placement));
  const feed = await getJson(`${last.url}/v1/events?after=0&limit=1000`);
  assert.ok(feed.events.some((e: { type: string }) => e.type === 'party.registered'));

  // Operators see the decisions too: the dashboards' counter of released and withheld months.
  const metrics = await (await fetch(`${last.url}/metrics`)).text();
  const scheduled = /tillid_payment_decisions_total\{kind="release",reason="scheduled"\} (\d+)/.exec(metrics);
  assert.ok(scheduled && Number(scheduled[1]) >= 12, 'released months are counted');

  // One state on every node: the same state root at the same height, and the same contract.
  const height = (await getJson(`${last.url}/v1/status`)).height;
  const roots = await Promise.all(
    nodes.map(async (n) => {
      await waitFor(
        async () => ((await getJson(`${n.url}/v1/status`)).height >= height ? true : undefined),
        20_000,
      );
      return (await getJson(`${n.url}/v1/blocks/${height}`)).header.stateRoot;
    }),
  );
  assert.equal(new Set(roots).size, 1, 'all four nodes hold the same state root');
  const views = await Promise.all(nodes.map((n) => view(n, ids.placement)));
  for (const v of views) assert.deepEqual(v.timeline, placementView.timeline);
  // And a replay from the genesis, with the contracts application, reproduces every state root.
  await assertChainVerifies(dir, { api: last.url });
});
