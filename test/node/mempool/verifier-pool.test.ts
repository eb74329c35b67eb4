/**
 * The signature workers cost a quiet node nothing: none runs until a transaction needs verifying,
 * and one that has had nothing to do for the idle period stops — the next transaction starts a
 * new one, with the same verdicts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerifierPool } from '../../../node/mempool/verifier-pool.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { anchorTx, generateKeyPair } from '../../fixtures/node.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('workers start with work, stop when idle, and start again with the same verdicts', async (t) => {
  const pool = new VerifierPool(2, 300);
  t.after(() => pool.close());
  const key = generateKeyPair();
  const good = anchorTx(key);
  const forged = { ...anchorTx(key), signature: good.signature };
  assert.equal(pool.running, 0, 'no worker before any transaction');

  const first = await Promise.all([good, forged].map((tx) => pool.verify(tx, transactionHash(tx))));
  assert.deepEqual(first, [true, false]);
  assert.equal(pool.running, 1, 'one batch needs one worker');

  for (let waited = 0; pool.running > 0 && waited < 10_000; waited += 50) await sleep(50);
  assert.equal(pool.running, 0, 'the idle worker stopped');

  const again = await Promise.all([forged, good].map((tx) => pool.verify(tx, transactionHash(tx))));
  assert.deepEqual(again, [false, true]);
  assert.equal(pool.running, 1);
});

test('a burst larger than a batch is spread over the workers, up to the pool size', async (t) => {
  const pool = new VerifierPool(2, 60_000);
  t.after(() => pool.close());
  const key = generateKeyPair();
  const txs = Array.from({ length: 600 }, () => anchorTx(key));
  const verdicts = await Promise.all(txs.map((tx) => pool.verify(tx, transactionHash(tx))));
  assert.ok(verdicts.every((v) => v === true));
  assert.equal(pool.running, 2);
});
