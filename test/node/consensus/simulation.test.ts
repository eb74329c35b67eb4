/**
 * Property tests over many seeds of the deterministic simulator: real engines, real chains on
 * memory stores with the anchor module, a lossy, duplicating, reordering, partitioning network,
 * crashes with restarts from the store, and equivocating authorities. Each seed is one exact,
 * replayable execution: a failure message names the seed to rerun.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyChain } from '../../../node/chain/verify.ts';
import { registry } from '../../../node/state/module.ts';
import { anchorModule } from '../../../node/state/modules/anchor.ts';
import { checkSeed, propertyViolations, randomScenario } from '../../sim/scenario.ts';
import { Simulation, simulate } from '../../sim/simulator.ts';

/** Seeds per property; SIM_SEEDS raises it for a longer soak. */
const SEEDS = Number(process.env.SIM_SEEDS ?? 60);

async function assertSeeds(first: number, count: number, options: Parameters<typeof checkSeed>[1]) {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const { problems } = await checkSeed(seed, options);
    for (const p of problems) failures.push(`seed ${seed}: ${p}`);
  }
  assert.deepEqual(failures, []);
}

test('safety and liveness, n=4: drops, duplicates, reordering and partitions before GST', async () => {
  await assertSeeds(1, SEEDS, { authorities: 4 });
});

test('safety and liveness, n=4 with one equivocating authority and a crash-restart (f=1)', async () => {
  await assertSeeds(1_000, SEEDS, { authorities: 4, byzantine: 1, crash: true });
});

test('safety and liveness, n=7 with two equivocating authorities and a crash-restart (f=2)', async () => {
  await assertSeeds(2_000, Math.ceil(SEEDS / 6), { authorities: 7, byzantine: 2, crash: true });
});

test('a node restarted before its first commit votes from its kept log at once (seeds that stalled before)', async () => {
  // Until the vote log's existence was trusted, an empty chain meant "unsure": the restarted node
  // waited for a peer's head H and voted only from H + 2, while the other honest node(s) and the
  // equivocators could not decide H + 1 without it — 824, 3951 (n=4) and 4008 (n=7) never decided
  // again. 3142 failed the evidence check in that version's run (its equivocator was never reported);
  // 106, 303, 537 stopped deciding under a stricter rule that still waited on an empty chain.
  for (const seed of [106, 303, 537, 824, 3142, 3951]) {
    const { problems } = await checkSeed(seed, { authorities: 4, byzantine: 1, crash: true });
    assert.deepEqual(problems, [], `seed ${seed}`);
  }
  const { problems } = await checkSeed(4008, { authorities: 7, byzantine: 2, crash: true });
  assert.deepEqual(problems, [], 'seed 4008, n=7');
});

test('a node one height behind catches up from a live peer when the first one it asked is down', async () => {
  // Seed 910: the equivocator missed the decision of height 1 while the others moved on; it asked
  // the peer that had first claimed head 2 — the one that then crashed — and, with no failure
  // reported for an unanswered request, asked it again after every deadline for 4 s, so its
  // equivocations were all for a height nobody was at any more and it was never reported. A
  // request past its deadline now forgets that peer, as production's failed fetch does.
  const { problems } = await checkSeed(910, { authorities: 4, byzantine: 1, crash: true });
  assert.deepEqual(problems, []);
});

test('an equivocator cut off while a height ran is reported when its two faces for it arrive after', async () => {
  // Seed 2391: the equivocator was partitioned alone from 365 ms to 1,858 ms while the others
  // decided height 1 (by 1,550 ms everywhere). Everything it then signed was for height 1 — it
  // stayed there, one behind, until GST — and arrived where height 1 was final, so it was dropped
  // unread and the run settled with the equivocator never reported. The engine now keeps checking
  // the height it last finished (late-evidence.ts), and gossip admits messages for it.
  const { problems, result } = await checkSeed(2391, { authorities: 4, byzantine: 1, crash: true });
  assert.deepEqual(problems, []);
  const [byzantine] = result.config.byzantine ?? [];
  const late = result.nodes.flatMap((n) =>
    n.byzantine ? [] : n.evidence.filter((e) => e.first.kind === 'vote' && e.first.vote.height === 1),
  );
  assert.ok(late.length > 0, 'reported for height 1, final everywhere by then');
  for (const e of late)
    assert.equal(
      e.first.kind === 'vote' && e.first.vote.authority,
      result.nodes[byzantine as number]?.publicKey,
    );
});

test('a node down for many heights restarts from its store, syncs certified blocks and votes again', async () => {
  for (const seed of [1, 2, 3]) {
    const base = randomScenario(seed, { authorities: 4, partitions: 0 });
    const config = {
      ...base,
      gstMs: 1_000,
      crashes: [{ node: 2, atMs: 300, restartAtMs: 6_000 }],
      transactions: { count: 12, fromMs: 0, toMs: 7_000 },
    };
    const result = await simulate(config);
    assert.deepEqual(propertyViolations(result), [], `seed ${seed}`);
    const node = result.nodes[2];
    assert.ok(node);
    assert.equal(node.restarts, 1);
    assert.ok(node.syncedBlocks >= 5, `seed ${seed}: caught up by sync (${node.syncedBlocks} blocks)`);
    assert.ok(node.consensusDecisionsSinceRestart >= 1, `seed ${seed}: decided by consensus after restart`);
    const others = result.nodes.filter((n) => n.index !== 2).map((n) => n.height);
    assert.ok(node.height >= Math.max(...others) - 1, `seed ${seed}: at ${node.height}, others at ${others}`);
  }
});

test('every equivocating authority is reported, and nobody else', async () => {
  const result = await simulate(randomScenario(7, { authorities: 4, byzantine: 1 }));
  const [byzantine] = result.config.byzantine ?? [];
  const reported = result.nodes.flatMap((n) =>
    n.byzantine
      ? []
      : n.evidence.map((e) => (e.first.kind === 'vote' ? e.first.vote.authority : e.first.proposal.proposer)),
  );
  assert.ok(reported.length > 0);
  assert.deepEqual(new Set(reported), new Set([result.nodes[byzantine as number]?.publicKey]));
  assert.deepEqual(propertyViolations(result), []);
});

test('a run is a function of its seed', async () => {
  const config = randomScenario(42, { authorities: 4, byzantine: 1, crash: true });
  const [a, b] = [await simulate(config), await simulate(config)];
  assert.equal(a.events, b.events);
  assert.equal(a.now, b.now);
  assert.deepEqual(a.storedChains, b.storedChains);
  assert.deepEqual(
    a.nodes.map((n) => n.consensus),
    b.nodes.map((n) => n.consensus),
  );
});

test("an honest node's stored chain verifies offline from the genesis alone", async () => {
  const sim = new Simulation({ ...randomScenario(5, { authorities: 4, byzantine: 1 }) });
  const result = await sim.run();
  const honest = result.nodes.find((n) => !n.byzantine);
  assert.ok(honest && honest.height > 0);
  const store = sim.storeOf(honest.index);
  const verdict = await verifyChain(
    {
      head: async () => ({
        height: honest.height,
        hash: result.storedChains[honest.index]?.at(-1) as string,
      }),
      block: (h) => store.getBlockJson(h),
    },
    result.genesis,
    registry([anchorModule]),
  );
  assert.deepEqual(verdict, {
    ok: true,
    height: honest.height,
    headHash: result.storedChains[honest.index]?.at(-1),
  });
});

test('the checker is not vacuous: a fork, a lost transaction and a false accusation are all reported', async () => {
  const result = await simulate(randomScenario(3, { authorities: 4 }));
  assert.deepEqual(propertyViolations(result), []);
  const [a, b] = result.nodes;
  assert.ok(a && b && a.decisions.size > 0);
  const forked = new Map(b.decisions);
  forked.set(1, '00'.repeat(32));
  const evidence = a.evidence.concat([
    {
      type: 'evidence',
      first: { kind: 'vote', vote: fakeVote(b.publicKey) },
      second: { kind: 'vote', vote: fakeVote(b.publicKey) },
    },
  ]);
  const tampered = {
    ...result,
    stoppedEarly: false,
    nodes: [{ ...a, evidence }, { ...b, decisions: forked }, ...result.nodes.slice(2)],
  };
  const problems = propertyViolations(tampered);
  assert.ok(
    problems.some((p) => p.startsWith('safety: nodes 0 and 1 finalized different blocks at height 1')),
  );
  assert.ok(problems.some((p) => p.startsWith('liveness')));
  assert.ok(problems.some((p) => p.startsWith('evidence: node 0 accused honest')));
});

function fakeVote(authority: string) {
  return {
    chainId: 'tillid-sim',
    type: 'prevote' as const,
    height: 1,
    round: 0,
    blockHash: null,
    authority,
    signature: '00'.repeat(64),
  };
}
