/**
 * The gateway's finality watcher behind a node that makes blocks faster than the watcher reads
 * them: it walks the chain one block (one request for its receipts) at a time, so with 20 ms
 * blocks and slow receipts the walk falls further behind on every tick. A transaction finalized far ahead of the
 * walk must still be reported final — by the direct poll of a waiter not seen in a block, which
 * verifies the block the node names — rather than FINALITY_TIMEOUT (the console's browser test
 * once timed out so on a loaded machine, its node making 100 ms empty blocks). The verdict it
 * reports is the block's (its receipts, matched to its certified transactions): a node whose
 * transaction view calls an accepted transaction rejected does not make it so.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CertificateVerifier, FinalityWatcher } from '../../gateway/finality.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { transactionHash } from '../../node/protocol/transaction.ts';
import { anchorTx, getJson, startTestNode, waitFor } from '../fixtures/node.ts';

const CVR = '29189846';
/** How late a block's receipts are answered: the walk reads at most one block a second. */
const SLOW_RECEIPTS_MS = 1000;

async function lagging(t: { after(fn: () => unknown): void }, lie: boolean): Promise<void> {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 20, emptyBlockIntervalMs: 20 });
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height >= 2 ? true : undefined));
  // A slow but honest node: the receipts the walk reads block by block come late.
  const server: Server = createServer(async (req, res) => {
    if (req.url?.endsWith('/receipts')) await new Promise((r) => setTimeout(r, SLOW_RECEIPTS_MS));
    try {
      const upstream = await fetch(`${url}${req.url}`);
      let body = await upstream.text();
      // The lie: a transaction's own view says "rejected" in the block that accepted it.
      if (lie && req.url?.startsWith('/v1/transactions/') && upstream.ok) {
        const view = JSON.parse(body);
        if (view.status === 'finalized')
          body = JSON.stringify({ ...view, status: 'rejected', code: 'TX_EXPIRED' });
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(body);
    } catch {
      // The node stopped (the test is over; the waiter that never settles still polls).
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const slow = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const router = new NodeRouter({
    topology: 'central',
    municipalities: [{ cvr: CVR, nodes: [] }],
    sharedNodes: [slow],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  const finality = new FinalityWatcher(router, new CertificateVerifier(router, genesis));

  // A waiter for a transaction that never comes keeps the walk going (and falling behind).
  const never = finality.wait(CVR, 'f'.repeat(64), 60_000).catch((e: Error) => e);
  const walkStartedAt = (await getJson(`${url}/v1/status`)).height;
  // Until the chain is well ahead of anything the walk can have read (a block a second at most).
  await waitFor(async () => {
    const head = (await getJson(`${url}/v1/status`)).height;
    return head - walkStartedAt > 100 ? true : undefined;
  }, 60_000);

  const tx = anchorTx(key, genesis.chainId);
  const hash = transactionHash(tx);
  const posted = await fetch(`${url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tx),
  });
  assert.equal(posted.status, 202);
  const outcome = await finality.wait(CVR, hash, 30_000);
  assert.equal(outcome.status, 'finalized');
  const view = await getJson(`${url}/v1/transactions/${hash}`);
  assert.equal(outcome.height, view.height);
  const block = await getJson(`${url}/v1/blocks/${view.height}`);
  assert.equal(outcome.block?.hash, block.hash, 'the verified block that holds it');
  assert.ok((outcome.block?.signatures ?? 0) >= 1);
  void never;
}

test('a transaction final far ahead of a lagging walk is still reported final, from a verified block', (t) =>
  lagging(t, false));

test('the direct poll takes the verdict from the block, not from the node’s word about the transaction', (t) =>
  lagging(t, true));
