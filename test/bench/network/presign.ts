/**
 * Pre-signed anchors for the load-generating benchmarks (bench:network, bench:faults): signed on
 * worker threads before the nodes start, so signing takes no CPU from them and is timed apart.
 * Transaction i of a run is an anchor whose ref names the run and i (`urn:bench:<run>:<i>`, how
 * a follower recognizes it in a block), signed by key i mod the number of keys. This file is also
 * the workers' entry point.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { transactions } from '../../../client/transactions.ts';
import { DEFAULT_PARAMS } from '../../../node/protocol/genesis.ts';
import { generateKeyPair, type KeyPair, Signer } from '../../../node/protocol/signature.ts';

interface SignJob {
  readonly chainId: string;
  readonly keys: KeyPair[];
  readonly run: string;
  readonly from: number;
  readonly to: number;
  readonly expiresAt: number;
}

/** Transactions `from`..`to` of this run as JSON text. */
function signRange(job: SignJob): string[] {
  const signers = job.keys.map((k) => new Signer(k));
  const build = transactions(job.chainId);
  const out: string[] = [];
  for (let i = job.from; i < job.to; i++) {
    const tx = build.anchor(
      signers[i % signers.length] as Signer,
      {
        hash: createHash('sha256').update(`${job.run}:${i}`).digest('hex'),
        docType: 'status-report',
        ref: `urn:bench:${job.run}:${i}`,
      },
      { nonce: `${job.run}-${i}`, expiresAt: job.expiresAt },
    );
    out.push(JSON.stringify(tx));
  }
  return out;
}

if (!isMainThread) parentPort?.postMessage(signRange(workerData as SignJob));

export interface Presigned {
  /** The run's id, in every ref: `urn:bench:<run>:<i>`. */
  readonly run: string;
  readonly keys: KeyPair[];
  /** Transaction i as the JSON a POST carries. */
  readonly txs: string[];
  /** Every transaction's expiresAt (ms): the latest a block of this chain accepts, less 10 minutes. */
  readonly expiresAt: number;
  readonly threads: number;
  readonly seconds: number;
}

/** `count` anchors for `chainId` by `signers` fresh keys, on up to four threads. */
export async function presign(chainId: string, count: number, signers: number): Promise<Presigned> {
  const run = randomBytes(6).toString('hex');
  const keys = Array.from({ length: signers }, () => generateKeyPair());
  // A block refuses expiresAt more than maxTransactionTtlMs past its time; a run is far shorter.
  const expiresAt = Date.now() + DEFAULT_PARAMS.maxTransactionTtlMs - 10 * 60_000;
  const started = performance.now();
  const threads = Math.max(1, Math.min(cpus().length, 4));
  const chunk = Math.ceil(count / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      (_, t) =>
        new Promise<string[]>((done, fail) => {
          const from = Math.min(count, t * chunk);
          const job: SignJob = { chainId, keys, run, from, to: Math.min(count, from + chunk), expiresAt };
          const worker = new Worker(new URL(import.meta.url), { workerData: job });
          worker.once('message', done);
          worker.once('error', fail);
        }),
    ),
  );
  return { run, keys, txs: parts.flat(), expiresAt, threads, seconds: (performance.now() - started) / 1000 };
}
