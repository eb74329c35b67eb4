/**
 * Key rotation in the deterministic simulator (test/sim/): the real consensus host and engines on
 * a lossy, reordering network. An authority submits governance.rotate, then restarts with its new
 * key. Over several seeds: safety and liveness hold, every node switches keys at the same height
 * (the rotation's effective height), every certificate from there on carries the new key and none
 * the old, each node's stored chain verifies offline from the genesis, and a run is a function of
 * its seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyChain } from '../../../node/chain/verify.ts';
import { decodeBlock } from '../../../node/protocol/block.ts';
import { MEMBERSHIP_DELAY } from '../../../node/state/modules/governance.ts';
import { propertyViolations, randomScenario } from '../../sim/scenario.ts';
import { Simulation, type SimulationConfig } from '../../sim/simulator.ts';

const ROTATING = 1;

function scenario(seed: number): SimulationConfig {
  const base = randomScenario(seed, { authorities: 4, partitions: 0, transactions: 8 });
  return {
    ...base,
    gstMs: 1_000,
    rotations: [{ node: ROTATING, atMs: 600, restartAtMs: 2_500 }],
    transactions: { count: 8, fromMs: 0, toMs: 4_000 },
  };
}

test('an authority rotates its key under a lossy network: one switch height everywhere, the chain verifies', async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const sim = new Simulation(scenario(seed));
    const oldKey = sim.genesis.authorities[ROTATING]?.publicKey as string;
    const result = await sim.run();
    assert.deepEqual(propertyViolations(result), [], `seed ${seed}`);
    const newKey = result.nodes[ROTATING]?.publicKey as string;
    assert.notEqual(newKey, oldKey, `seed ${seed}: the node restarted with its new key`);

    // Each node's store: where the certificates switch from the old key to the new one.
    const switches = new Set<number>();
    for (const node of result.nodes) {
      const store = sim.storeOf(node.index);
      let last = 0;
      let first: number | undefined;
      for (let h = 1; h <= node.height; h++) {
        const block = decodeBlock(JSON.parse((await store.getBlockJson(h)) as string));
        const signers = block.certificate?.signatures.map((s) => s.authority) ?? [];
        const rotation = block.transactions.some((tx) => tx.type === 'governance.rotate');
        if (rotation) first = h + MEMBERSHIP_DELAY;
        if (signers.includes(oldKey)) last = h;
        if (signers.includes(newKey))
          assert.ok(first !== undefined && h >= first, `seed ${seed}: new key early at ${h}`);
        if (first !== undefined && h >= first)
          assert.ok(!signers.includes(oldKey), `seed ${seed}: old key at ${h}`);
        if (first !== undefined && h >= first) assert.equal(block.header.proposer !== oldKey, true);
      }
      assert.ok(first !== undefined && last < first, `seed ${seed}: node ${node.index}`);
      switches.add(first);
      const verdict = await verifyChain(
        {
          head: async () => ({
            height: node.height,
            hash: result.storedChains[node.index]?.at(-1) as string,
          }),
          block: (h) => store.getBlockJson(h),
        },
        result.genesis,
        sim.modules,
      );
      assert.equal(verdict.ok, true, `seed ${seed}: node ${node.index}: ${JSON.stringify(verdict)}`);
    }
    assert.equal(switches.size, 1, `seed ${seed}: one switch height on every node`);
    // The rotated authority decided by consensus with its new key after the restart.
    assert.ok((result.nodes[ROTATING]?.consensusDecisionsSinceRestart ?? 0) > 0);
  }
});

test('a run with a rotation is a function of its seed', async () => {
  const [a, b] = [await new Simulation(scenario(9)).run(), await new Simulation(scenario(9)).run()];
  assert.deepEqual(a.storedChains, b.storedChains);
  assert.equal(a.events, b.events);
});
