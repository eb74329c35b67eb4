/**
 * A node that prunes old state versions (`stateRetention`) answers a proof below its retention with
 * 410 STATE_PRUNED. The gateway does not pass that on while another node keeps the version: it
 * asks the next node and serves that node's verified proof. Only when every node has pruned it
 * does the caller get STATE_PRUNED (410).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GatewayError } from '../../gateway/errors.ts';
import { ProofChecker } from '../../gateway/proofs/checker.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { getJson, tempDir, waitFor } from '../fixtures/node.ts';
import {
  editConfigs,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
} from '../fixtures/processes.ts';

const CVR = '29189846';

test('a read below one node’s retention is served, proven, by a node that keeps it; STATE_PRUNED only when none does', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-pruned', 17);
  editConfigs([configs[0] as string], (config) => {
    config.stateRetention = 10;
  });
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  const nodes = await startNodeProcesses(t, configs);
  const [pruning, keeping] = nodes as [NodeProcess, NodeProcess];
  // Empty blocks at the test pace (100 ms): wait until block 2 is well below the retention of 10.
  await waitFor(
    async () => ((await getJson(`${pruning.url}/v1/status`)).height >= 25 ? true : undefined),
    60_000,
  );
  const direct = await fetch(`${pruning.url}/v1/blocks/2/receipts?proof=true`);
  assert.equal(direct.status, 410, 'the pruning node itself refuses');
  assert.equal(((await direct.json()) as { code: string }).code, 'STATE_PRUNED');

  const routerOver = async (urls: string[]) => {
    const router = new NodeRouter({
      topology: 'central',
      municipalities: [{ cvr: CVR, nodes: [] }],
      sharedNodes: urls,
      healthCheckIntervalMs: 60_000,
    });
    t.after(() => router.stop());
    await router.start();
    router.requireProofs(new ProofChecker(genesis));
    return router;
  };

  const both = await routerOver([pruning.url, keeping.url]);
  const receipts = await both.get<{ receipts: unknown[]; provenAt: { height: number } }>(
    CVR,
    '/v1/blocks/2/receipts',
  );
  assert.ok(receipts, 'served from the node that keeps height 2');
  assert.ok(Array.isArray(receipts.receipts));
  assert.equal(
    both.health().find((h) => h.url === pruning.url)?.healthy,
    true,
    'a pruned answer is no fault: the pruning node stays in service',
  );

  const onlyPruned = await routerOver([pruning.url]);
  await assert.rejects(
    onlyPruned.get(CVR, '/v1/blocks/2/receipts'),
    (e: unknown) => e instanceof GatewayError && e.code === 'STATE_PRUNED',
  );
});
