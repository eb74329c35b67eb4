/**
 * The named fault scenarios (test/sim/faults.ts) on the shared consensus host, a few seeds each:
 * safety (no conflicting finalizations, no authority signing twice — not even one restarted with
 * an empty data directory), liveness and recovery after the last fault heals, within a bound that
 * the capped round timeouts make finite. `npm run bench:consensus` runs many more seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TIMEOUTS, timeoutFor } from '../../../node/consensus/tendermint/engine.ts';
import { FAULT_SCENARIOS, recoveryMs } from '../../sim/faults.ts';
import { propertyViolations } from '../../sim/scenario.ts';
import { simulate } from '../../sim/simulator.ts';

const SEEDS = Number(process.env.SIM_SEEDS ?? 4);

for (const build of FAULT_SCENARIOS) {
  const name = build(1).name;
  test(`fault scenario: ${name}`, async () => {
    const problems: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const scenario = build(seed);
      const result = await simulate(scenario.config);
      for (const p of propertyViolations(result)) problems.push(`seed ${seed}: ${p}`);
      const recovery = recoveryMs(result, scenario.healAt);
      // Healed, a network decides within a few capped rounds: far below the 30 s target.
      if (!(recovery <= 30_000)) problems.push(`seed ${seed}: decided ${recovery} ms after the heal`);
    }
    assert.deepEqual(problems, []);
  });
}

test('a wiped authority rejoins by sync and votes again, without signing twice', async () => {
  // Seed 6 signs twice if the wiped authority votes as soon as it restarts (checked).
  for (let seed = 1; seed <= Math.max(SEEDS, 10); seed++) {
    const scenario = FAULT_SCENARIOS.map((b) => b(seed)).find((s) => s.name === 'empty data dir');
    assert.ok(scenario);
    const result = await simulate(scenario.config);
    const wiped = result.nodes[scenario.config.crashes?.[0]?.node as number];
    assert.ok(wiped);
    assert.equal(wiped.doubleSigned, 0);
    assert.ok(wiped.syncedBlocks > 0, `seed ${seed}: caught up by sync`);
    assert.ok(wiped.consensusDecisionsSinceRestart > 0, `seed ${seed}: decided by consensus again`);
  }
});

test('a wiped authority never signs twice, even when the first head it hears is behind its own', async () => {
  // Under the old rule (vote from the first peer head heard + 2) these seeds signed twice: the
  // first status came from a peer behind the height the wiped node had signed at — 112: heads 6
  // then 7, it had proposed and prevoted at 8/0 and did again; 296: head 1, it had signed 3/0;
  // 543: head 2, it had prevoted nil at 4/0 and prevoted a block there after; 549: head 0 from a
  // lagging peer, taken for a new network, while it had committed 1 and signed at 2 (it re-proposed
  // at 1/0).
  // 349 never decided again. Now it waits for every other authority's own head (n = 4).
  for (const seed of [112, 296, 349, 543, 549]) {
    const scenario = FAULT_SCENARIOS.map((b) => b(seed)).find((s) => s.name === 'empty data dir');
    assert.ok(scenario);
    const result = await simulate(scenario.config);
    assert.deepEqual(propertyViolations(result), [], `seed ${seed}`);
    const wiped = result.nodes[scenario.config.crashes?.[0]?.node as number];
    assert.ok(wiped && wiped.consensusDecisionsSinceRestart > 0, `seed ${seed}: decided by consensus again`);
  }
});

test('an authority restarted without its signed-vote log votes again only after the network moved on', async () => {
  // Of seeds 1-150, 62, 63, 83, 110 and 123 sign twice when the restored authority votes as soon
  // as it restarts (checked): it had signed in the height it crashed in, and signs again there.
  const seeds = [...Array.from({ length: SEEDS }, (_, i) => i + 1), 62, 63, 83, 110, 123];
  let failedSeeds = 0;
  for (const seed of seeds) {
    const scenario = FAULT_SCENARIOS.map((b) => b(seed)).find((s) => s.name === 'vote log lost');
    assert.ok(scenario);
    const result = await simulate(scenario.config);
    const restored = result.nodes[scenario.config.crashes?.[0]?.node as number];
    assert.ok(restored);
    if (restored.doubleSigned > 0) failedSeeds++;
    assert.ok(restored.consensusDecisionsSinceRestart > 0, `seed ${seed}: decided by consensus again`);
  }
  assert.equal(failedSeeds, 0, `${failedSeeds} seeds in which the restored authority signed twice`);
});

test('one authority down for good: only its turns cost a round, and a short one once it is known dead', async () => {
  const scenario = FAULT_SCENARIOS.map((b) => b(1)).find((s) => s.name === 'one down for good');
  assert.ok(scenario);
  const result = await simulate(scenario.config);
  assert.deepEqual(propertyViolations(result), []);
  const live = result.nodes.filter((n) => n.height > 0);
  for (const node of live) {
    // Its turns are one height in four: every decision takes round 0, or round 1 after its turn.
    assert.ok(Math.max(...node.decidedRounds) <= 2, `rounds ${node.decidedRounds}`);
    const dead = result.nodes.find((n) => n.height === 0)?.publicKey as string;
    assert.equal([...node.missedProposals.keys()].join(), dead);
    // Known dead after two silent heights, its turns wait 500 ms, not the 3 s propose timeout:
    // about 1.6 s per height on average otherwise (block interval 0.5 s).
    const top = node.height;
    const perHeight = ((node.committedAt.get(top) ?? 0) - (node.committedAt.get(1) ?? 0)) / (top - 1);
    assert.ok(perHeight < 1_100, `${perHeight.toFixed(0)} ms per height`);
  }
});

test('round timeouts grow per round but stop at the cap', () => {
  const t = DEFAULT_TIMEOUTS.propose;
  assert.equal(timeoutFor(t, 0), t.baseMs);
  assert.equal(timeoutFor(t, 1), t.baseMs + t.perRoundMs);
  assert.equal(timeoutFor(t, 1_000), timeoutFor(t, 10));
  assert.equal(timeoutFor({ baseMs: 100, perRoundMs: 50, maxMs: 120 }, 5), 120);
});

test('a quiet network is silent between empty blocks, and work still starts a block at once', async () => {
  const base = {
    seed: 11,
    authorities: 4,
    network: { latencyMs: 10, jitterMs: 5, dropRate: 0, duplicateRate: 0 },
    gstMs: 0,
    blockIntervalMs: 500,
    emptyBlockIntervalMs: 60_000,
    timeouts: DEFAULT_TIMEOUTS,
  };
  // Nothing to do for 50 s: block 1 (the network's first), then no message at all.
  const quiet = await simulate({ ...base, maxTimeMs: 50_000 });
  const early = await simulate({ ...base, maxTimeMs: 5_000 });
  for (const node of quiet.nodes) {
    assert.equal(node.height, 1, `node ${node.index} made empty blocks`);
    const before = early.nodes[node.index];
    assert.ok(before);
    const sent = node.consensus.messages + node.sync.messages;
    const sentEarly = before.consensus.messages + before.sync.messages;
    assert.equal(
      sent,
      sentEarly,
      `node ${node.index} sent ${sent - sentEarly} messages between 5 s and 50 s`,
    );
  }
  // One transaction at 20 s ends the wait: final everywhere within about a block interval.
  const busy = await simulate({
    ...base,
    transactions: { count: 1, fromMs: 20_000, toMs: 20_000 },
    maxTimeMs: 50_000,
    until: (view) => view.nodes.every((n) => n.finalTransactions === 1),
  });
  assert.ok(busy.stoppedEarly);
  assert.ok(busy.now - 20_000 < 2_000, `final ${busy.now - 20_000} ms after submission`);
});
