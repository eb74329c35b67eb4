/**
 * Real nodes in Docker containers (image tillid/node:dev, built first if missing or stale) on a
 * user-defined Docker network, faulted the way a consortium fails in practice: a killed node, a
 * paused proposer, a network split 2|2, a stranger with a key outside the allow-list, a restart of
 * everything. Needs a reachable Docker engine (.ci/run starts one); without it these tests fail
 * and say how to start Docker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertNoConflicts, assertSameBlock, submit, waitFinalized } from './anchors.ts';
import { Cluster } from './cluster.ts';

const max = (xs: readonly (number | undefined)[]) => Math.max(...xs.map((x) => x ?? 0));

describe('four authorities in containers', { timeout: 600_000 }, () => {
  let c: Cluster;
  let ids: string[];
  const finalized: string[] = [];

  before(
    async () => {
      c = await Cluster.start({ authorities: 4, intruder: true });
      ids = c.authorities.map((n) => n.id);
    },
    { timeout: 300_000 },
  );
  after(() => c?.stop());

  test('finalize submitted anchors and converge on one head and state root', async () => {
    await c.waitForHeight(2, ids);
    const hashes = [...(await submit(c, 'node-1', 40)), ...(await submit(c, 'node-3', 40))];
    await waitFinalized(c, hashes, ids);
    finalized.push(...hashes);
    const h = max(await c.heights(ids));
    await c.waitForHeight(h, ids);
    await assertSameBlock(c, h, ids);
  });

  test('a node whose key is outside the genesis and allow-list gets no blocks and no peers', async () => {
    const intruder = c.node('intruder');
    await sleep(3000);
    const status = await c.status('intruder');
    assert.equal(status.finalizedHeight, 0, 'the intruder received blocks');
    // Not asserted: the intruder's own peer list. It keeps redialing, and a connection shows there
    // for the moment between the noise handshake and the authority's gater closing it. What counts
    // is below: no authority keeps it as a peer, and it gets no blocks.
    for (const id of ids) {
      const peers: string[] = (await c.status(id)).peers;
      assert.ok(!peers.includes(intruder.peerId), `${id} lists the intruder as a peer`);
      assert.equal(peers.length, 3, `${id} peers: ${peers}`);
    }
    const refused = await Promise.all(
      ids.map(async (id) => (await c.logs(id)).includes('not on the allow-list')),
    );
    assert.ok(refused.some(Boolean), 'no authority logged refusing the intruder');
  });

  test('docker kill one authority: the other three keep finalizing; restarted, it catches up', async () => {
    await c.kill('node-4');
    const live = ['node-1', 'node-2', 'node-3'];
    const start = max(await c.heights(live));
    await c.waitForHeight(start + 5, live, 30_000);
    const whileDown = await submit(c, 'node-2', 30);
    await waitFinalized(c, whileDown, live);
    finalized.push(...whileDown);
    await c.startAgain('node-4');
    const target = max(await c.heights(live));
    await c.waitForHeight(target, ['node-4'], 60_000);
    await waitFinalized(c, whileDown, ['node-4']);
    await assertSameBlock(c, target, ids);
  });

  test('docker pause the next proposer: a round change, then progress without it', async () => {
    const order = [...c.authorities].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
    const h = max(await c.heights(ids));
    // proposer(height, round) is the schedule order at (height + round) mod n.
    const target = order[(h + 2) % order.length] as (typeof order)[number];
    await c.pause(target.id);
    const live = ids.filter((id) => id !== target.id);
    try {
      const start = max(await c.heights(live));
      await c.waitForHeight(start + 6, live, 60_000);
      let checked = 0;
      for (let height = start + 1; height <= start + 6; height++) {
        if (order[height % order.length] !== target) continue;
        const block = await c.get(live[0] as string, `/v1/blocks/${height}`);
        assert.ok(block.certificate.round >= 1, `height ${height} committed in round 0 by a paused proposer`);
        assert.notEqual(block.header.proposer, target.publicKey);
        checked++;
      }
      assert.ok(checked >= 1);
    } finally {
      await c.unpause(target.id);
    }
    await c.waitForHeight(max(await c.heights(live)), [target.id], 60_000);
  });

  test('docker network disconnect 2|2: no side finalizes, no conflicting blocks, progress after healing', async () => {
    const before = max(await c.heights(ids));
    const side = ['node-3', 'node-4'];
    await c.partition(side);
    let stalled: number;
    try {
      await sleep(3000); // blocks already in flight may still complete
      stalled = max(await c.heights(ids));
      await sleep(6000);
      assert.equal(max(await c.heights(ids)), stalled, 'a side without a quorum finalized a block');
    } finally {
      await c.heal(side);
    }
    // Usually a few seconds. It once took minutes: after the heal a node often held two connections
    // to a peer, and when the broken one was reset gossipsub lost the peer or its stream to it
    // although libp2p stayed connected (node/p2p/gossip-watch.ts now reconnects such a peer at once).
    await c.waitForHeight(stalled + 3, ids, 60_000);
    await assertNoConflicts(c, ids, before - 5, stalled + 3);
  });

  test('restart every container: every finalized transaction is still there, and blocks continue', async () => {
    const before = max(await c.heights(ids));
    await c.restartAll();
    await waitFinalized(c, finalized, ids);
    await c.waitForHeight(before + 3, ids, 90_000);
  });

  test('no conflicting finalized blocks at any height, across all of the above', async () => {
    const heights = await c.heights(ids);
    await assertNoConflicts(c, ids, 1, Math.min(...(heights as number[])));
  });
});

describe('hybrid: four authorities and two observers in containers', { timeout: 300_000 }, () => {
  let c: Cluster;
  // A failure to start is reported by the tests below, with the cluster's logs.
  let startFailure: unknown;

  before(
    async () => {
      c = await Cluster.start({ authorities: 4, observers: 2 }).catch((e) => {
        startFailure = e;
        return undefined as unknown as Cluster;
      });
    },
    { timeout: 300_000 },
  );
  after(() => c?.stop());

  test('observers follow the chain, relay submitted transactions, and are not authorities', async () => {
    if (startFailure) throw startFailure;
    const all = c.nodes.map((n) => n.id);
    await c.waitForHeight(2, all);
    const hashes = await submit(c, 'observer-1', 30);
    await waitFinalized(c, hashes, all);
    const status = await c.status('observer-2');
    const authorities: string[] = (status.authorities as (string | { publicKey: string })[]).map((a) =>
      typeof a === 'string' ? a : a.publicKey,
    );
    assert.equal(authorities.length, 4);
    for (const o of ['observer-1', 'observer-2']) assert.ok(!authorities.includes(c.node(o).publicKey));
    const h = max(await c.heights(all));
    await c.waitForHeight(h, all);
    await assertSameBlock(c, h, all);
  });

  test('an observer killed and restarted catches up; one authority down does not stop the observers', async () => {
    if (startFailure) throw startFailure;
    const all = c.nodes.map((n) => n.id);
    await c.kill('observer-2');
    await c.kill('node-2');
    const live = all.filter((id) => id !== 'observer-2' && id !== 'node-2');
    await c.waitForHeight(max(await c.heights(live)) + 4, live, 60_000);
    await c.startAgain('observer-2');
    await c.startAgain('node-2');
    await c.waitForHeight(max(await c.heights(live)), all, 60_000);
  });
});
