/**
 * A node behind by block sync must get back into live consensus and propose, over real processes
 * and libp2p over TCP. Four authorities; three times, one is stopped while the other three
 * finalize many heights without it, then restarted: it catches up by sync and must then keep up by
 * consensus, and at one of its turns as proposer the chain must take its block. Before the fix (issue 15) such a node reached the live height without that
 * height's proposal and votes — its engine dropped them while it was still syncing — fell two
 * heights behind, synced two blocks, and met the same loss again; with the stall re-send at 3 s
 * nothing brought the messages back, and the three others changed round at each of its turns.
 * On the code before the fix, with the re-send at 3 s, this failed 4 of 4 runs (8, 4, 10 and 16
 * blocks fetched by sync after one of the catch-ups); with the fix 5 of 5 passed, at most one
 * block fetched after any catch-up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  editConfigs,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
} from '../../fixtures/processes.ts';

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;
const blockAt = (node: NodeProcess, h: number) => getJson(`${node.url}/v1/blocks/${h}`);
const syncedBlocks = async (node: NodeProcess): Promise<number> => {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^tillid_sync_blocks_total\{side="fetched"\} (\d+)/m.exec(text)?.[1] ?? 0);
};

test('an authority restarted behind by many heights catches up, keeps up and proposes a finalized block', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-lagging');
  // Empty blocks a second apart (the joining test's pace): after each commit a node without work
  // waits a second for some, unless another authority starts the next height first. A node that
  // has just caught up by sync waits the same way, so it starts the live height only when that
  // height's messages come — the messages it must not lose.
  editConfigs(configs, (config) => {
    config.emptyBlockIntervalMs = 1000;
  });
  const nodes = await startNodeProcesses(t, configs);
  const lagging = readNodeConfigKey(configs[3] as string).publicKey;
  const [first] = nodes as [NodeProcess];
  // Bounds, not speed targets: four node processes on a loaded 2-core box are slow to listen and connect.
  await waitFor(async () => ((await height(first)) >= 3 ? true : undefined), 120_000);

  // Three times: down while the other three finalize well past admission's window of two heights,
  // then restarted. Whether a node behind by sync loses the live height's messages depends on where
  // in a height its catch-up lands; before the fix one landing between heights could still slip in
  // (about one run in three on a quiet box), three in a row rarely do.
  let restarted = nodes[3] as NodeProcess;
  let since = 0;
  for (let round = 1; round <= 3; round++) {
    await stopNodeProcess(restarted, 'SIGKILL');
    const atStop = await height(first);
    await waitFor(async () => ((await height(first)) >= atStop + 12 ? true : undefined), 120_000);
    // Restarted with the pace a node gets from `tillid network join` and the defaults (half a
    // second after a commit before the next height, as the joining test's newcomer): its engine
    // starts a height later than the others', so the live height's first messages come before it.
    restarted = await startNodeProcess(configs[3] as string, { TILLID_BLOCK_INTERVAL_MS: '500' });
    nodes[3] = restarted;
    const atRestart = await height(first);
    since = since || atRestart;
    // Caught up: at the others' head or one short of it (they may finalize a height while the
    // batch travels; fetching that one is still catching up, and allowed for below).
    await waitFor(async () => {
      const [own, theirs] = [await height(restarted), await height(first)];
      return own >= atRestart && own >= theirs - 1 ? true : undefined;
    }, 120_000);
    const fetchedWhenCaughtUp = await syncedBlocks(restarted);
    // Then it follows by consensus for two of its turns, as the operator sees on /metrics: before
    // the fix it kept falling two heights behind and fetching them two blocks at a time.
    const from = await height(first);
    await waitFor(async () => ((await height(first)) >= from + 8 ? true : undefined), 120_000);
    await waitFor(async () => ((await height(restarted)) >= from + 8 ? true : undefined), 60_000);
    const extra = (await syncedBlocks(restarted)) - fetchedWhenCaughtUp;
    t.diagnostic(`restart ${round}: ${extra} blocks fetched by sync after catching up`);
    assert.ok(extra <= 2, `restart ${round}: ${extra} blocks fetched by sync after catching up`);
  }

  // Its turns come every fourth height: a block it proposed is final on a node that never stopped.
  let checked = since;
  const proposed = await waitFor(async () => {
    const head = await height(first);
    for (; checked <= head; checked++) {
      const block = await blockAt(first, checked);
      if (block.header?.proposer === lagging) return block;
    }
    return undefined;
  }, 120_000);
  const at = proposed.header.height as number;
  // The chain goes on after its block, and the restarted node holds the same one.
  await waitFor(async () => ((await height(first)) > at + 2 ? true : undefined), 60_000);
  await waitFor(async () => ((await height(restarted)) >= at ? true : undefined), 60_000);
  assert.equal((await blockAt(restarted, at)).hash, proposed.hash);
  t.diagnostic(`its block at height ${at}`);
  await assertChainVerifies(dir, { api: restarted.url });
});
