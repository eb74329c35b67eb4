/**
 * A quiet consortium with production's empty-block interval (10 minutes): four authority
 * processes make no empty blocks while nothing happens, yet a transaction sent to one node is
 * final on all — work, or another authority starting the height, ends every node's idle wait. That
 * it is final at all within the test's wait (a minute, a tenth of the idle wait) is the proof; no
 * wall-clock bound is asserted, so a loaded machine cannot fail it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { anchorTx, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  editConfigs,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
} from '../../fixtures/processes.ts';

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;

test('empty blocks slow down when idle; work is still finalized promptly on every node', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-quiet', 12);
  editConfigs(configs, (config) => {
    config.emptyBlockIntervalMs = 600_000;
  });
  const nodes = await startNodeProcesses(t, configs);
  await waitFor(
    async () => ((await Promise.all(nodes.map(height))).every((h) => h >= 1) ? true : undefined),
    30_000,
  );

  // Opened before the quiet period: decrypting the key (scrypt) is not part of what is timed.
  const key = readNodeConfigKey(configs[0] as string);
  const quietFrom = await height(nodes[0] as NodeProcess);
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok((await height(nodes[0] as NodeProcess)) <= quietFrom + 1, 'no empty block every block interval');

  const response = await fetch(`${nodes[0]?.url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anchorTx(key, 'tillid-quiet')),
  });
  const { hash } = (await response.json()) as { hash: string };
  // Without the wake-up nothing would be final before the 10-minute idle wait ends.
  await waitFor(async () => {
    const views = await Promise.all(nodes.map((n) => getJson(`${n.url}/v1/transactions/${hash}`)));
    return views.every((v) => v.status === 'finalized') ? true : undefined;
  }, 60_000);
});
