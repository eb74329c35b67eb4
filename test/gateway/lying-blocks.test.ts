/**
 * A node first in the gateway's list that serves forged blocks, or is stuck behind the chain (as a
 * node with a forged store is: the next certified block does not extend its forged head), must not
 * hold up what the gateway tells callers: `?wait=true` still settles from the honest node, a block
 * with a bad certificate is refused and counted like an unverified proof, and a read after a
 * finalized write is at least as fresh as that write; a transaction it accepts and drops is still
 * finalized through another node. The "nodes" in front of a real node are proxies that rewrite its
 * answers.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CertificateVerifier, FinalityWatcher } from '../../gateway/finality.ts';
import { ProofChecker } from '../../gateway/proofs/checker.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { Submitter } from '../../gateway/submission.ts';
import { transactionHash } from '../../node/protocol/transaction.ts';
import { anchorTx, getJson, startTestNode, waitFor } from '../helpers.ts';

const CVR = '29189846';
// biome-ignore lint/suspicious/noExplicitAny: the proxies edit arbitrary JSON
type Loose = any;

/** Submissions that reached a proxy (it refuses them). */
const posts: string[] = [];

/** Forwards to `target`; `answer` may rewrite an answer or replace it with `[status, body]`. */
async function proxy(
  t: { after(fn: () => unknown): void },
  target: string,
  answer: (path: string, body: Loose, status: number) => Loose | [number, Loose],
) {
  const server: Server = createServer(async (req, res) => {
    if (req.method === 'POST') {
      posts.push(req.url ?? '');
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'NOT_READY', message: 'this proxy takes no submissions' }));
      return;
    }
    const upstream = await fetch(`${target}${req.url}`);
    const result = answer(req.url ?? '', await upstream.json(), upstream.status);
    const [status, body] = Array.isArray(result) ? result : [upstream.status, result];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const blockHeight = (path: string): number | undefined => {
  const m = /^\/v1\/blocks\/(\d+)/.exec(path);
  return m ? Number(m[1]) : undefined;
};

test('a node stuck at a forged head, first in the list: finality, blocks and reads come from the honest node', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height >= 3 ? true : undefined));
  const stuckAt = (await getJson(`${url}/v1/status`)).height as number;
  const NOT_FOUND = [404, { code: 'NOT_FOUND', message: 'no such block' }];
  // What a node with a forged store serves: its head block with another state root (the
  // certificate no longer matches), nothing after it, and its own stale status.
  const liar = await proxy(t, url, (path, body, status) => {
    const height = blockHeight(path);
    if (path === '/v1/status') return { ...body, height: stuckAt, finalizedHeight: stuckAt };
    if (path.startsWith('/v1/blocks/latest'))
      return { ...body, header: { ...body.header, stateRoot: 'f'.repeat(64) } };
    if (height !== undefined && height > stuckAt) return NOT_FOUND;
    // Its proven reads answer at the forged head: refused for their certificate.
    if (path.includes('proof=true') && status === 200)
      return { ...body, header: { ...body.header, stateRoot: 'f'.repeat(64) } };
    return body;
  });
  const checker = new ProofChecker(genesis);
  const router = new NodeRouter({
    topology: 'central',
    municipalities: [{ cvr: CVR, nodes: [] }],
    sharedNodes: [liar, url],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  router.requireProofs(checker);
  const verifier = new CertificateVerifier(router, genesis);
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height > stuckAt + 1 ? true : undefined));

  // The head block: the liar's is refused (counted), the honest one taken.
  const latest = await verifier.certifiedBlock(CVR, 'latest');
  assert.ok(latest.header.height > stuckAt);
  assert.equal(await checker.unverifiedCount(), 1);

  // A submission goes to the node that keeps up, not to the stuck one first in the list; the waiter
  // settles though the first node never has the block.
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height > stuckAt + 12 ? true : undefined));
  await router.checkAll();
  const tx = anchorTx(key, genesis.chainId);
  posts.length = 0;
  assert.equal(await router.submit(CVR, tx), transactionHash(tx));
  assert.deepEqual(posts, [], 'nothing submitted to the stuck node');
  const outcome = await new FinalityWatcher(router, verifier).wait(CVR, transactionHash(tx), 20_000);
  assert.equal(outcome.status, 'finalized');
  assert.ok((outcome.height as number) > stuckAt);

  // Read after the write: the anchor, proven at or after the height the caller was told.
  await router.checkAll();
  const read = await router.get<Loose>(CVR, `/v1/anchors/${tx.payload.hash}`);
  assert.equal(read?.txHash, transactionHash(tx));
  assert.ok(read.provenAt.height >= (outcome.height as number));
  // A block nobody has yet is simply not there.
  assert.equal(await router.get(CVR, `/v1/blocks/${latest.header.height + 100_000}/receipts`), undefined);
});

test('a read right after a finalized write is not answered from a node a few blocks behind', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height >= 2 ? true : undefined));
  const tx = anchorTx(key, genesis.chainId);
  // An honest node that lags: it serves the proof it had before the anchor (valid, a little old).
  const before = await getJson(`${url}/v1/anchors/${tx.payload.hash}?proof=true`);
  assert.equal(before.value, null);
  const lagging = await proxy(t, url, (path, body) => (path.startsWith('/v1/anchors/') ? before : body));
  const checker = new ProofChecker(genesis);
  const router = new NodeRouter({
    topology: 'central',
    municipalities: [{ cvr: CVR, nodes: [] }],
    sharedNodes: [lagging, url],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  router.requireProofs(checker);
  const verifier = new CertificateVerifier(router, genesis);
  await fetch(`${url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tx),
  });
  const outcome = await new FinalityWatcher(router, verifier).wait(CVR, transactionHash(tx), 20_000);
  assert.equal(outcome.status, 'finalized');
  const read = await router.get<Loose>(CVR, `/v1/anchors/${tx.payload.hash}`);
  assert.equal(read?.txHash, transactionHash(tx), 'the anchor the caller was told is final');
  // Not a lie, only late: nothing counted.
  assert.equal(await checker.unverifiedCount(), 0);
});

test('a node that accepts a transaction and drops it: `?wait=true` still finalizes through another node', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height >= 2 ? true : undefined));
  // Says "admitted" to every submission, and passes none on.
  let swallowed = 0;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => {
      text += d;
    });
    req.on('end', async () => {
      if (req.method === 'POST' && req.url === '/v1/transactions/batch') {
        const { transactions } = JSON.parse(text) as { transactions: Loose[] };
        swallowed += transactions.length;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ results: transactions.map((tx) => ({ hash: transactionHash(tx) })) }));
        return;
      }
      const upstream = await fetch(`${url}${req.url}`);
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const dropping = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const router = new NodeRouter({
    topology: 'central',
    municipalities: [{ cvr: CVR, nodes: [] }],
    sharedNodes: [dropping, url],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  router.requireProofs(new ProofChecker(genesis));
  const finality = new FinalityWatcher(router, new CertificateVerifier(router, genesis));
  const submitter = new Submitter(router, undefined as never, finality, 20_000, 300);
  const result = await submitter.relay(CVR, anchorTx(key, genesis.chainId), true);
  assert.equal(result.outcome?.status, 'finalized');
  assert.ok(swallowed >= 1, 'it went to the dropping node first');
});
