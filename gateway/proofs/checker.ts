/**
 * The gateway proves what it serves: a read or an event page from a node is taken only as a proven
 * read (node/state/commitment/proven-read.ts) that verifies against the trusted genesis — the
 * header's commit certificate under the authority set the gateway derives itself, the state proofs
 * under that header, and the answer recomputed from them. A node whose answer does not verify is
 * counted (`tillid_gateway_unverified_answers_total`), logged, marked down and skipped; its answer
 * is never passed on.
 *
 * A valid proof can still be old. A node could answer at a height before a payment was decided, so
 * a proof must be at most `maxLagBlocks` below the highest height this gateway has verified (a
 * block's receipts excepted: they are proven at their own block).
 */
import { Counter, Registry } from 'prom-client';
import type { Logger } from '../../node/log.ts';
import type { Json } from '../../node/protocol/canonical.ts';
import { canonicalBytes } from '../../node/protocol/canonical.ts';
import type { Genesis } from '../../node/protocol/genesis.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { verifyProvenRead } from '../../node/state/commitment/proven-read.ts';
import type { ReadSpec } from '../../node/state/commitment/reads.ts';

/** Where a value was proven: the receiving system can fetch that header and check it again. */
export interface ProvenAt {
  readonly height: number;
  readonly blockHash: Hex;
}

export interface Proven<T = Json> {
  readonly value: T;
  readonly provenAt: ProvenAt;
}

const sameJson = (a: unknown, b: unknown): boolean =>
  Buffer.from(canonicalBytes(a)).equals(Buffer.from(canonicalBytes(b)));

export class ProofChecker {
  readonly genesis: Genesis;
  readonly registry = new Registry();
  readonly #unverified: Counter<'node'>;
  readonly #log: Logger | undefined;
  readonly #maxLag: number;
  #highest = 0;

  constructor(genesis: Genesis, o: { log?: Logger; maxLagBlocks?: number } = {}) {
    this.genesis = genesis;
    this.#log = o.log;
    this.#maxLag = o.maxLagBlocks ?? 20;
    this.#unverified = new Counter({
      name: 'tillid_gateway_unverified_answers_total',
      help: 'Answers from a node that did not verify against the trusted genesis (never passed on)',
      labelNames: ['node'],
      registers: [this.registry],
    });
  }

  /** The highest height verified so far. */
  get highest(): number {
    return this.#highest;
  }

  /** A block at `height` whose commit certificate the gateway checked (finality.ts). */
  certified(height: number): void {
    if (height > this.#highest) this.#highest = height;
  }

  /**
   * Checks `body` from node `url` as the proven answer to `spec`. Returns the value and where it is
   * proven, or the reason it is refused (already counted and logged).
   */
  check(url: string, spec: ReadSpec, body: unknown): Proven | string {
    const verdict = verifyProvenRead(this.genesis, body);
    let problem: string | undefined;
    if (!verdict.ok) problem = verdict.reason;
    else if (!sameJson(verdict.read, spec)) problem = 'the proof answers another read';
    // A block's receipts are proven at that block, however old; everything else at the head.
    else if (spec.kind !== 'receipts' && verdict.height < this.#highest - this.#maxLag)
      problem = `the proof is at height ${verdict.height}, behind the verified height ${this.#highest}`;
    if (problem !== undefined || !verdict.ok) return this.refuse(url, spec.kind, problem ?? 'unverified');
    if (verdict.height > this.#highest) this.#highest = verdict.height;
    return { value: verdict.value, provenAt: { height: verdict.height, blockHash: verdict.blockHash } };
  }

  /**
   * Counts and logs an answer from `url` that does not verify — a proven read, or a block whose
   * commit certificate fails (finality.ts) — and returns `problem` for the caller's refusal.
   */
  refuse(url: string, read: string, problem: string): string {
    this.#unverified.inc({ node: url });
    this.#log?.warn({ node: url, read, problem }, 'a node answered with state that does not verify');
    return problem;
  }

  /** Answers refused so far, from every node. */
  async unverifiedCount(): Promise<number> {
    const metric = await this.#unverified.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  }
}
