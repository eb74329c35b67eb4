/**
 * Worker thread for VerifierPool: applies the signature rule to batches of transactions, and to
 * the co-signatures inside a validly signed one (verifier-pool.ts, `verifyAll`).
 */
import { parentPort } from 'node:worker_threads';
import type { Hex } from '../protocol/hash.ts';
import type { Transaction } from '../protocol/transaction.ts';
import { verifyItem } from './verifier-pool.ts';

parentPort?.on('message', ({ id, items }: { id: number; items: { tx: Transaction; hash: Hex }[] }) => {
  const results = items.map(verifyItem);
  parentPort?.postMessage({
    id,
    verdicts: results.map((r) => r.valid),
    cosigned: results.map((r) => r.cosigned),
  });
});
