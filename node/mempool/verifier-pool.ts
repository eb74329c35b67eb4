/**
 * Signature verification on worker threads. Verifying is the most expensive thing a node does per
 * transaction (≈130 µs), and `node:crypto` verification is synchronous, so on the main thread it
 * caps admission at one core. The pool batches requests and spreads them over workers; each worker
 * applies the very same rule (`transactionSignatureValid`), so where a signature is checked never
 * changes whether it is valid.
 */
import { Worker } from 'node:worker_threads';
import type { Hex } from '../protocol/hash.ts';
import type { Transaction } from '../protocol/transaction.ts';

interface Job {
  readonly items: { tx: Transaction; hash: Hex }[];
  readonly resolvers: ((valid: boolean) => void)[];
}

const BATCH = 128;

export class VerifierPool {
  readonly #workers: { worker: Worker; pending: Map<number, Job>; load: number }[];
  #queue: Job = { items: [], resolvers: [] };
  #flushScheduled = false;
  #nextId = 0;

  constructor(size: number) {
    const url = new URL('./verify-worker.ts', import.meta.url);
    this.#workers = Array.from({ length: size }, () => {
      const entry = { worker: new Worker(url), pending: new Map<number, Job>(), load: 0 };
      entry.worker.on('message', ({ id, verdicts }: { id: number; verdicts: boolean[] }) => {
        const job = entry.pending.get(id);
        if (!job) return;
        entry.pending.delete(id);
        entry.load -= job.items.length;
        job.resolvers.forEach((resolve, i) => {
          resolve(verdicts[i] === true);
        });
      });
      // A worker must never die silently: fail what it held so callers see an error, not a hang.
      entry.worker.on('error', (error) => {
        for (const job of entry.pending.values()) for (const resolve of job.resolvers) resolve(false);
        entry.pending.clear();
        throw error;
      });
      entry.worker.unref();
      return entry;
    });
  }

  verify(tx: Transaction, hash: Hex): Promise<boolean> {
    return new Promise((resolve) => {
      this.#queue.items.push({ tx, hash });
      this.#queue.resolvers.push(resolve);
      if (this.#queue.items.length >= BATCH) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const job = this.#queue;
    if (job.items.length === 0) return;
    this.#queue = { items: [], resolvers: [] };
    const target = this.#workers.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.#nextId++;
    target.pending.set(id, job);
    target.load += job.items.length;
    target.worker.postMessage({ id, items: job.items });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
  }
}
