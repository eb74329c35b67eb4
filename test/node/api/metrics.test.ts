/**
 * The gauges the alert rules compare against (deploy/monitoring/alerts.yml): authorities for the
 * quorum, mempool capacity for "near full", and the data directory's free space for "disk nearly full".
 */
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { test } from 'node:test';
import { getJson, startTestNode } from '../../helpers.ts';

const value = (metrics: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
  assert.ok(m, `${name} is not on /metrics`);
  return Number(m[1]);
};

test('/metrics reports authorities, mempool capacity and the data volume', async (t) => {
  const { url, node } = await startTestNode(t, { mempool: { maxTransactions: 1234, maxBytes: 1 << 20 } });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.equal(value(metrics, 'tillid_authorities'), 1);
  assert.equal(value(metrics, 'tillid_mempool_capacity'), 1234);
  assert.equal(value(metrics, 'tillid_mempool_transactions'), 0);
  const disk = statfsSync(node.config.dataDir);
  assert.equal(value(metrics, 'tillid_disk_size_bytes'), disk.blocks * disk.bsize);
  const free = value(metrics, 'tillid_disk_free_bytes');
  assert.ok(free > 0 && free <= disk.blocks * disk.bsize);
});

test('/v1/status names the software release, the protocol version and the block pacing', async (t) => {
  const { url } = await startTestNode(t, { blockIntervalMs: 40, emptyBlockIntervalMs: 700 });
  const status = await getJson(`${url}/v1/status`);
  assert.deepEqual(status.pacing, { blockIntervalMs: 40, emptyBlockIntervalMs: 700 });
  assert.equal(status.protocolVersion, 2);
  assert.match(status.softwareVersion, /^\d+\.\d+\.\d+$/);
  assert.equal(status.version, status.softwareVersion);
  assert.deepEqual(status.peerAgents, {}, 'a single node has no peers');
});
