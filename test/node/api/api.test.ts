import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransactionType } from '../../../client/payloads.ts';
import { transactions } from '../../../client/transactions.ts';
import { anchorTx, generateKeyPair, getJson, startTestNode, waitFor } from '../../fixtures/node.ts';

const post = (url: string, body: unknown, contentType = 'application/json') =>
  fetch(`${url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('an anchor goes from submitted to pending to finalized, and is readable', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 200 });
  const tx = anchorTx(key, genesis.chainId);
  const response = await post(url, tx);
  assert.equal(response.status, 202);
  const { hash } = (await response.json()) as { hash: string };
  // Usually still pending; a fast block may already have finalized it (the view reads the
  // receipt first), which is just as right.
  const pending = await getJson(`${url}/v1/transactions/${hash}`);
  assert.ok(['pending', 'finalized'].includes(pending.status), pending.status);
  const finalized = await waitFor(async () => {
    const view = await getJson(`${url}/v1/transactions/${hash}`);
    return view.status === 'finalized' ? view : undefined;
  });
  const block = await getJson(`${url}/v1/blocks/${finalized.height}`);
  assert.deepEqual(block.transactions, [tx]);
  assert.equal(block.certificate.signatures.length, 1);
  const anchor = await getJson(`${url}/v1/anchors/${tx.payload.hash}`);
  assert.equal(anchor.txHash, hash);
  const status = await getJson(`${url}/v1/status`);
  assert.equal(status.chainId, genesis.chainId);
  assert.ok(status.height >= finalized.height);
  assert.equal(status.authorities[0].publicKey, key.publicKey);
  const latest = await getJson(`${url}/v1/blocks/latest`);
  assert.ok(latest.header.height >= finalized.height);
});

test("a block's receipts: accepted and module-rejected transactions in block order, 404 beyond the head", async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  const finalOf = (hash: string) =>
    waitFor(async () => {
      const view = await getJson(`${url}/v1/transactions/${hash}`);
      return view.status === 'pending' ? undefined : view;
    });
  const document = 'cd'.repeat(32);
  const first = anchorTx(key, genesis.chainId, { hash: document });
  const again = anchorTx(key, genesis.chainId, { hash: document }); // same document, another ref
  const firstHash = ((await (await post(url, first)).json()) as { hash: string }).hash;
  const accepted = await finalOf(firstHash);
  const againHash = ((await (await post(url, again)).json()) as { hash: string }).hash;
  const refused = await finalOf(againHash);
  assert.equal(accepted.status, 'finalized');
  assert.equal(refused.status, 'rejected');
  assert.equal(refused.code, 'ANCHOR_EXISTS');

  const ofAccepted = await getJson(`${url}/v1/blocks/${accepted.height}/receipts`);
  const block = await getJson(`${url}/v1/blocks/${accepted.height}`);
  assert.equal(ofAccepted.height, accepted.height);
  assert.equal(ofAccepted.hash, block.hash);
  assert.deepEqual(ofAccepted.receipts, [{ hash: firstHash, index: 0, code: 'OK' }]);
  const ofRefused = await getJson(`${url}/v1/blocks/${refused.height}/receipts`);
  assert.equal(ofRefused.receipts.length, 1);
  assert.equal(ofRefused.receipts[0].hash, againHash);
  assert.equal(ofRefused.receipts[0].index, refused.index);
  assert.equal(ofRefused.receipts[0].code, 'ANCHOR_EXISTS');
  assert.equal(ofRefused.receipts[0].message, refused.message);

  const empty = await waitFor(async () => {
    const body = await getJson(`${url}/v1/blocks/${refused.height + 1}/receipts`);
    return body.receipts ? body : undefined;
  });
  assert.deepEqual(empty.receipts, [], 'an empty block has none');
  const status = await getJson(`${url}/v1/status`);
  const beyond = await fetch(`${url}/v1/blocks/${status.height + 1000}/receipts`);
  assert.equal(beyond.status, 404);
  assert.equal(((await beyond.json()) as { code: string }).code, 'NOT_FOUND');
  const bad = await fetch(`${url}/v1/blocks/x1/receipts`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: string }).code, 'BAD_REQUEST');
  const openapi = await getJson(`${url}/docs/json`);
  assert.ok(openapi.paths['/v1/blocks/{height}/receipts'].get.responses['200']);
});

test('a committed transaction reads as finalized even while the mempool still holds it', async (t) => {
  // No empty blocks: nothing is proposed unless a transaction arrives through admission.
  const { url, key, genesis, node } = await startTestNode(t, {
    blockIntervalMs: 50,
    emptyBlockIntervalMs: 60_000,
  });
  const tx = anchorTx(key, genesis.chainId);
  const { hash } = (await (await post(url, tx)).json()) as { hash: string };
  // The receipt is readable a moment before the mempool lets go of the transaction; wait for both.
  await waitFor(async () => (node.chain.receipt(hash) && !node.mempool.has(hash) ? true : undefined));
  node.mempool.add({ tx, hash }, JSON.stringify(tx).length); // back to that moment
  const view = await getJson(`${url}/v1/transactions/${hash}`);
  node.mempool.remove([hash]);
  assert.equal(view.status, 'finalized');
});

test('each kind of bad input gets its own 4xx code and changes nothing', async (t) => {
  const { url, key, genesis, node } = await startTestNode(t, { blockIntervalMs: 100 });
  const good = anchorTx(key, genesis.chainId);
  const { hash } = (await (await post(url, good)).json()) as { hash: string };
  await waitFor(async () => node.chain.receipt(hash));
  const other = generateKeyPair();
  const cases: [string, () => Promise<Response>, number, string][] = [
    ['malformed JSON', () => post(url, '{"chainId": '), 400, 'MALFORMED_JSON'],
    ['not JSON at all', () => post(url, 'hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['wrong types', () => post(url, { ...good, expiresAt: 'tomorrow' }), 400, 'TX_MALFORMED'],
    ['missing field', () => post(url, { ...good, signature: undefined }), 400, 'TX_MALFORMED'],
    [
      'oversized body',
      () => post(url, { ...good, payload: { x: 'y'.repeat(100_000) } }),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'unknown type',
      () => post(url, anchorTxOfType(key, genesis.chainId, 'payment.release')),
      400,
      'TX_UNKNOWN_TYPE',
    ],
    [
      'bad signature',
      () => post(url, { ...anchorTx(key, genesis.chainId), signature: good.signature }),
      400,
      'TX_BAD_SIGNATURE',
    ],
    [
      'signed by someone else',
      () => post(url, { ...anchorTx(other, genesis.chainId), signer: key.publicKey }),
      400,
      'TX_BAD_SIGNATURE',
    ],
    ['wrong chain id', () => post(url, anchorTx(key, 'another-chain')), 400, 'TX_WRONG_CHAIN'],
    [
      'expired',
      () => post(url, anchorTx(key, genesis.chainId, { expiresAt: Date.now() - 1 })),
      400,
      'TX_EXPIRED',
    ],
    [
      'expiry too far ahead',
      () => post(url, anchorTx(key, genesis.chainId, { expiresAt: Date.now() + 86_400_000 })),
      400,
      'TX_EXPIRY_TOO_FAR',
    ],
    ['replayed', () => post(url, good), 409, 'TX_DUPLICATE'],
    [
      'CPR with hyphen',
      () => post(url, anchorTx(key, genesis.chainId, { ref: 'case-010190-1234' })),
      422,
      'PII_REJECTED',
    ],
    [
      'CPR as ten digits',
      () => post(url, anchorTx(key, genesis.chainId, { docType: 'r2512891234' })),
      422,
      'PII_REJECTED',
    ],
    [
      'payload field invalid',
      () => post(url, anchorTx(key, genesis.chainId, { ref: 'has spaces in it' })),
      400,
      'TX_PAYLOAD_INVALID',
    ],
  ];
  for (const [name, send, status, code] of cases) {
    const response = await send();
    const body = (await response.json()) as { code: string };
    assert.equal(response.status, status, name);
    assert.equal(body.code, code, name);
    assert.equal(node.mempool.size, 0, `${name}: nothing pending`);
  }
  // Empty blocks were produced meanwhile; what must not exist is any transaction but the good one.
  for (let h = 1; h <= node.chain.head.height; h++) {
    for (const tx of (await node.chain.block(h))?.transactions ?? [])
      assert.equal(tx.signature, good.signature);
  }
});

test('unknown routes, bad hashes and heights are 4xx with a code', async (t) => {
  const { url } = await startTestNode(t);
  for (const [path, status, code] of [
    ['/v1/transactions/xyz', 400, 'BAD_REQUEST'],
    [`/v1/transactions/${'ab'.repeat(32)}`, 404, 'NOT_FOUND'],
    ['/v1/blocks/-1', 400, 'BAD_REQUEST'],
    ['/v1/blocks/99999999', 404, 'NOT_FOUND'],
    ['/v1/nothing', 404, 'NOT_FOUND'],
    [`/v1/contracts/${'ab'.repeat(32)}`, 404, 'CONTRACT_NOT_FOUND'],
    ['/v1/contracts/not-an-id', 400, 'BAD_REQUEST'],
    ['/v1/contracts', 400, 'BAD_REQUEST'],
    ['/v1/contracts?party=1234', 400, 'BAD_REQUEST'],
    ['/v1/parties/11111111', 404, 'PARTY_NOT_FOUND'],
    ['/v1/payments?municipality=29189846&month=2026-13', 400, 'BAD_REQUEST'],
    ['/v1/reports?party=abc', 400, 'BAD_REQUEST'],
    ['/v1/events?after=-1', 400, 'BAD_REQUEST'],
    ['/v1/events?limit=5000', 400, 'BAD_REQUEST'],
  ] as const) {
    const response = await fetch(`${url}${path}`);
    assert.equal(response.status, status, path);
    assert.equal(((await response.json()) as { code: string }).code, code, path);
  }
});

test('the event feed pages by height and names the business clock', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  const status = await getJson(`${url}/v1/status`);
  assert.equal(status.clock.kind, 'block-time');
  assert.match(status.clock.businessDate, /^\d{4}-\d{2}-\d{2}$/);
  // A membership change is an event; propose adding a second authority (1 of 1 votes: approved).
  const newcomer = generateKeyPair();
  const proposal = transactions(genesis.chainId).governance.propose(
    key,
    { action: 'add', name: 'Egedal Kommune', cvr: '44444444', publicKey: newcomer.publicKey },
    { nonce: 'event-feed', expiresAt: Date.now() + 60_000 },
  );
  assert.equal((await post(url, proposal)).status, 202);
  const feed = await waitFor(async () => {
    const page = await getJson(`${url}/v1/events?after=0&limit=10`);
    return page.events.length > 0 ? page : undefined;
  });
  assert.equal(feed.events[0].type, 'governance.membership-changed');
  assert.equal(feed.events[0].cvr, '44444444');
  // Adopted at once (1 of 1), so not among the open proposals the node lists (chain/proposals.ts).
  const open = await getJson(`${url}/v1/governance/proposals`);
  assert.deepEqual(open.proposals, []);
  assert.ok(open.height >= feed.events[0].height);
  const after = await getJson(`${url}/v1/events?after=${feed.events[0].height}`);
  assert.equal(after.events.length, 0, 'the cursor moves past what was read');
  assert.ok(after.next >= feed.events[0].height);
});

test('health, readiness, metrics and the OpenAPI document are served', async (t) => {
  const { url } = await startTestNode(t);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  for (const name of [
    'tillid_chain_height',
    'tillid_transactions_finalized_total',
    'tillid_mempool_transactions',
    'tillid_block_interval_seconds',
  ]) {
    assert.match(metrics, new RegExp(`^${name}`, 'm'));
  }
  const openapi = await getJson(`${url}/docs/json`);
  assert.ok(openapi.paths['/v1/transactions'].post);
  assert.ok(openapi.paths['/v1/blocks/{height}'].get);
});

test('a full mempool answers 429 MEMPOOL_FULL', async (t) => {
  const { url, key, genesis } = await startTestNode(t, {
    blockIntervalMs: 60_000,
    mempool: { maxTransactions: 2, maxBytes: 1 << 20 },
  });
  assert.equal((await post(url, anchorTx(key, genesis.chainId))).status, 202);
  assert.equal((await post(url, anchorTx(key, genesis.chainId))).status, 202);
  const third = await post(url, anchorTx(key, genesis.chainId));
  assert.equal(third.status, 429);
  assert.equal(((await third.json()) as { code: string }).code, 'MEMPOOL_FULL');
});

import type { KeyPair } from '../../../node/protocol/signature.ts';

function anchorTxOfType(key: KeyPair, chainId: string, type: string) {
  const base = anchorTx(key, chainId);
  return transactions(chainId).sign(key, type as TransactionType, base.payload as never, base);
}

test('a node whose store fails stays up for reads but reports not ready', async (t) => {
  const { url, node } = await startTestNode(t, { blockIntervalMs: 50 });
  await waitFor(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
  await node.chain.close(); // the disk goes away under the node
  const notReady = await waitFor(async () => {
    const response = await fetch(`${url}/readyz`);
    return response.status === 503 ? response : undefined;
  }, 10_000);
  assert.equal(((await notReady.json()) as { code: string }).code, 'NOT_READY');
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  assert.equal((await fetch(`${url}/v1/status`)).status, 200);
});

test('with an empty-block interval, a quiet node makes few blocks yet finalizes new work promptly', async (t) => {
  // Production's 10-minute idle wait: that each transaction is final at all within the waits below
  // (a minute each) shows that its arrival ended the idle wait. No wall-clock bound is asserted.
  const { url, key, genesis } = await startTestNode(t, {
    blockIntervalMs: 50,
    emptyBlockIntervalMs: 600_000,
  });
  const finalized = async () => {
    const { hash } = (await (await post(url, anchorTx(key, genesis.chainId))).json()) as { hash: string };
    await waitFor(
      async () =>
        (await getJson(`${url}/v1/transactions/${hash}`)).status === 'finalized' ? true : undefined,
      60_000,
    );
  };
  await finalized(); // from a fresh start, with nothing final yet
  const quietFrom = (await getJson(`${url}/v1/status`)).height;
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await getJson(`${url}/v1/status`)).height <= quietFrom + 1, 'no empty block every 50 ms');
  await finalized(); // after the quiet spell, while the node waits its idle interval
  assert.equal((await fetch(`${url}/readyz`)).status, 200, 'quiet is not unready');
});
