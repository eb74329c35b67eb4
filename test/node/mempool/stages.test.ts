/**
 * Where a transaction's time goes (node/mempool/stages.ts): the mempool times `to_proposal` and
 * `to_commit` on its own clock, once per transaction; the node puts every stage on /metrics as
 * `tillid_tx_stage_seconds{stage}`, which is what an operator (and bench:network) reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mempool } from '../../../node/mempool/mempool.ts';
import type { TxStage } from '../../../node/mempool/stages.ts';
import { anchorTx, generateKeyPair, startTestNode, waitFor } from '../../fixtures/node.ts';

const hashed = (n: number) => ({ tx: anchorTx(generateKeyPair()), hash: String(n).padStart(64, '0') });

test('the mempool times admission to first proposal and proposal to commit, once each', () => {
  let now = 1000;
  const seen: [TxStage, number][] = [];
  const mempool = new Mempool(
    { maxTransactions: 10, maxBytes: 1 << 20 },
    { stages: { observe: (stage, seconds) => seen.push([stage, seconds]) }, clock: () => now },
  );
  const [a, b, c] = [hashed(1), hashed(2), hashed(3)];
  mempool.add(a, 100);
  now += 40;
  mempool.add(b, 100);
  mempool.add(c, 100);
  now += 60;
  mempool.proposed([a.hash, b.hash, 'f'.repeat(64)]);
  assert.deepEqual(seen, [
    ['to_proposal', 0.1],
    ['to_proposal', 0.06],
  ]);
  now += 50;
  // A later round names them again: their wait for a proposal ended at the first.
  mempool.proposed([a.hash, b.hash]);
  assert.equal(seen.length, 2);
  mempool.remove([a.hash]);
  // Dropped for good (expired, already on chain): not a commit, nothing observed.
  mempool.remove([b.hash], false);
  // Committed without this node having seen a proposal name it (block sync): no proposal to time from.
  mempool.remove([c.hash]);
  assert.deepEqual(seen.slice(2), [['to_commit', 0.05]]);
  assert.equal(mempool.size, 0);
  assert.equal(mempool.bytes, 0);
});

test('/metrics shows each stage a committed submission went through', async (t) => {
  const { url, key } = await startTestNode(t);
  const response = await fetch(`${url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anchorTx(key)),
  });
  assert.equal(response.status, 202);
  const count = (metrics: string, stage: string) =>
    Number(
      new RegExp(`^tillid_tx_stage_seconds_count\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0,
    );
  const metrics = await waitFor(async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return count(text, 'to_commit') >= 1 ? text : undefined;
  });
  for (const stage of ['admit', 'to_proposal', 'to_commit']) assert.equal(count(metrics, stage), 1, stage);
  // A solo authority has no peers: nothing gossiped, no proposals to assemble.
  for (const stage of ['gossip_send', 'gossip_admit', 'assembly'])
    assert.equal(count(metrics, stage), 0, stage);
});
