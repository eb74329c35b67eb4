/**
 * Where a node's bandwidth goes, as an operator reads it on /metrics: four authority processes, a
 * transaction sent to one; every node counts the bytes it received by gossip topic, gossipsub's own
 * wire bytes and duplicates, and what it published; a node that was down and catches up counts the
 * blocks and bytes it fetched by block sync, and a peer that served them counts those.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { anchorTx, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
} from '../../fixtures/processes.ts';

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;
const metrics = async (node: NodeProcess): Promise<string> => (await fetch(`${node.url}/metrics`)).text();
/** A series' value, 0 when it has not been counted yet. */
const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

test('/metrics shows gossip bytes by topic, gossipsub wire counters and block-sync traffic', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-traffic', 22);
  const nodes = await startNodeProcesses(t, configs);
  const [first, second] = nodes as [NodeProcess, NodeProcess];
  await waitFor(
    async () => ((await Promise.all(nodes.map(height))).every((h) => h >= 2) ? true : undefined),
    60_000,
  );

  const key = readNodeConfigKey(configs[0] as string);
  const response = await fetch(`${first.url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anchorTx(key, 'tillid-traffic')),
  });
  const { hash } = (await response.json()) as { hash: string };
  await waitFor(async () => {
    const views = await Promise.all(nodes.map((n) => getJson(`${n.url}/v1/transactions/${hash}`)));
    return views.every((v) => v.status === 'finalized') ? true : undefined;
  }, 30_000);

  const text = await metrics(second);
  for (const topic of ['tx', 'proposal', 'vote'])
    assert.ok(
      value(text, `tillid_gossip_received_bytes_total{topic="${topic}"}`) > 0,
      `node 2 received ${topic} bytes`,
    );
  assert.ok(value(text, 'tillid_gossip_published_total{topic="vote"}') > 0, 'node 2 published its votes');
  const wireIn = value(text, 'tillid_gossipsub_rpc_recv_bytes_total');
  const firstCopies = ['tx', 'proposal', 'vote', 'status'].reduce(
    (sum, topic) => sum + value(text, `tillid_gossip_received_bytes_total{topic="${topic}"}`),
    0,
  );
  assert.ok(
    wireIn >= firstCopies,
    `gossipsub's wire bytes in (${wireIn}) cover the first copies (${firstCopies})`,
  );
  assert.ok(value(text, 'tillid_gossipsub_rpc_sent_bytes_total') > 0);
  // Duplicates are counted by topic. Every authority hands each peer its votes itself, and a vote
  // that came straight from its author is not forwarded (gossip.ts), so votes arrive about once:
  // fewer duplicates than votes (with each forwarded, a vote came about three times here).
  assert.match(text, /^# TYPE tillid_gossipsub_pre_validation_duplicate_total /m);
  const votes = value(text, 'tillid_gossip_messages_total{topic="vote",outcome="accept"}');
  assert.ok(votes > 0, 'node 2 accepted votes');
  const duplicateVotes = value(text, 'tillid_gossipsub_pre_validation_duplicate_total{topic="vote"}');
  assert.ok(duplicateVotes < votes, `duplicate votes (${duplicateVotes}) fewer than votes (${votes})`);

  // A node that was down catches up by block sync: it counts what it fetched, the others what they served.
  const last = nodes[3] as NodeProcess;
  await stopNodeProcess(last, 'SIGKILL');
  const from = await height(first);
  await waitFor(async () => ((await height(first)) >= from + 5 ? true : undefined), 60_000);
  const restarted = await startNodeProcess(configs[3] as string);
  t.after(() => stopNodeProcess(restarted, 'SIGKILL'));
  await waitFor(async () => ((await height(restarted)) >= from + 5 ? true : undefined), 60_000);
  const fetched = await metrics(restarted);
  assert.ok(value(fetched, 'tillid_sync_requests_total{side="fetched"}') >= 1);
  assert.ok(value(fetched, 'tillid_sync_blocks_total{side="fetched"}') >= 1);
  assert.ok(value(fetched, 'tillid_sync_bytes_total{side="fetched"}') > 0);
  const served = await Promise.all(nodes.slice(0, 3).map(metrics));
  assert.ok(
    served.some((m) => value(m, 'tillid_sync_bytes_total{side="served"}') > 0),
    'a peer counted the blocks it served',
  );
});
