/** Worker thread for VerifierPool: applies the signature rule to batches of transactions. */
import { parentPort } from 'node:worker_threads';
import type { Hex } from '../protocol/hash.ts';
import { type Transaction, transactionSignatureValid } from '../protocol/transaction.ts';

parentPort?.on('message', ({ id, items }: { id: number; items: { tx: Transaction; hash: Hex }[] }) => {
  const verdicts = items.map(({ tx, hash }) => {
    try {
      return transactionSignatureValid(tx, hash);
    } catch {
      return false;
    }
  });
  parentPort?.postMessage({ id, verdicts });
});
