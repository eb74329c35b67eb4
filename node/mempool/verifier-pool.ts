/**
 * Signature verification on worker threads. Verifying is the most expensive thing a node does per
 * transaction (≈130 µs), and `node:crypto` verification is synchronous, so on the main thread it
 * caps admission at one core. The pool batches requests and spreads them over workers; each worker
 * applies the very same rule (`transactionSignatureValid`), so where a signature is checked never
 * changes whether it is valid.
 *
 * Workers start when work arrives and stop after IDLE_MS without any: each is a V8 isolate of
 * about 20 MB, which a quiet node (most of its life) does not need. Under load they stay up, so
 * throughput is unchanged. Until a worker is online (loading it takes from tens of milliseconds
 * to seconds on a busy host) batches are verified here, on the main thread, as with no workers:
 * the first submissions after a start or a quiet spell never wait for a thread to boot.
 */
import { Worker } from 'node:worker_threads';
import type { Hex } from '../protocol/hash.ts';
import { type Transaction, transactionSignatureValid } from '../protocol/transaction.ts';

interface Job {
  readonly items: { tx: Transaction; hash: Hex }[];
  readonly resolvers: ((valid: boolean) => void)[];
}

interface Entry {
  readonly worker: Worker;
  readonly pending: Map<number, Job>;
  load: number;
  online: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

/** The worker's rule, for batches verified here while no worker is online (verify-worker.ts). */
function verifyHere({ tx, hash }: { tx: Transaction; hash: Hex }): boolean {
  try {
    return transactionSignatureValid(tx, hash);
  } catch {
    return false;
  }
}

const BATCH = 128;
/** A worker with nothing to do for this long is stopped. */
export const IDLE_MS = 30_000;

export class VerifierPool {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #url = new URL('./verify-worker.ts', import.meta.url);
  readonly #workers: Entry[] = [];
  #queue: Job = { items: [], resolvers: [] };
  #flushScheduled = false;
  #nextId = 0;
  #closed = false;

  constructor(size: number, idleMs = IDLE_MS) {
    this.#size = size;
    this.#idleMs = idleMs;
  }

  /** Workers running now (0 on a quiet node). */
  get running(): number {
    return this.#workers.length;
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
    if (this.#closed) {
      for (const resolve of job.resolvers) resolve(false);
      return;
    }
    // An idle worker if there is one, else a new one while below the size, else the least loaded
    // that is online; none online yet: verify here.
    const online = this.#workers.filter((w) => w.online);
    let target = online.find((w) => w.load === 0);
    if (!target && this.#workers.length < this.#size) this.#start();
    target ??= online.reduce<Entry | undefined>(
      (a, b) => (a === undefined || b.load < a.load ? b : a),
      undefined,
    );
    if (!target) {
      job.items.forEach((item, i) => {
        job.resolvers[i]?.(verifyHere(item));
      });
      return;
    }
    clearTimeout(target.idleTimer);
    target.idleTimer = undefined;
    const id = this.#nextId++;
    target.pending.set(id, job);
    target.load += job.items.length;
    target.worker.postMessage({ id, items: job.items });
  }

  #start(): void {
    const entry: Entry = {
      worker: new Worker(this.#url),
      pending: new Map(),
      load: 0,
      online: false,
      idleTimer: undefined,
    };
    entry.worker.once('online', () => {
      entry.online = true;
      // Started for a batch verified here meanwhile: idle until the next one.
      if (entry.pending.size === 0) this.#idleFrom(entry);
    });
    entry.worker.on('message', ({ id, verdicts }: { id: number; verdicts: boolean[] }) => {
      const job = entry.pending.get(id);
      if (!job) return;
      entry.pending.delete(id);
      entry.load -= job.items.length;
      job.resolvers.forEach((resolve, i) => {
        resolve(verdicts[i] === true);
      });
      if (entry.pending.size === 0) this.#idleFrom(entry);
    });
    // A worker must never die silently: fail what it held so callers see an error, not a hang.
    entry.worker.on('error', (error) => {
      for (const job of entry.pending.values()) for (const resolve of job.resolvers) resolve(false);
      entry.pending.clear();
      throw error;
    });
    entry.worker.unref();
    this.#workers.push(entry);
  }

  #idleFrom(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => this.#retire(entry), this.#idleMs);
    entry.idleTimer.unref();
  }

  #retire(entry: Entry): void {
    if (entry.pending.size > 0) return;
    this.#workers.splice(this.#workers.indexOf(entry), 1);
    void entry.worker.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    for (const w of workers) clearTimeout(w.idleTimer);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}
