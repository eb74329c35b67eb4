/**
 * The signature workers cost a quiet node nothing: none runs until a transaction needs verifying,
 * and one that has had nothing to do for the idle period stops — the next transaction starts a
 * new one. Until one is online its batches are verified on the calling thread: same verdicts,
 * and no submission waits for a thread to boot.
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

test('a burst larger than a batch starts workers up to the pool size, with the same verdicts', async (t) => {
  const pool = new VerifierPool(2, 60_000);
  t.after(() => pool.close());
  const key = generateKeyPair();
  const txs = Array.from({ length: 600 }, () => anchorTx(key));
  const forged = new Set([7, 300, 599]);
  const inputs = txs.map((tx, i) =>
    forged.has(i) ? { ...tx, signature: (txs[0] as typeof tx).signature } : tx,
  );
  // Batches before a worker is online are verified on this thread; later ones on the workers.
  for (let round = 0; round < 3; round++) {
    const verdicts = await Promise.all(inputs.map((tx) => pool.verify(tx, transactionHash(tx))));
    assert.deepEqual(
      verdicts.flatMap((v, i) => (v ? [] : [i])),
      [...forged],
    );
    await sleep(200);
  }
  assert.equal(pool.running, 2);
});
