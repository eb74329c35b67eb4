/**
 * Transactions waiting for a block, in arrival order, de-duplicated by hash and bounded in count
 * and bytes so a flood cannot exhaust memory. A full pool refuses new work (429) rather than
 * evicting what it already promised to include.
 */
import { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { HashedTransaction } from '../state/machine.ts';
import { monotonic, type StageClock, type TxStageObserver } from './stages.ts';

export interface MempoolLimits {
  readonly maxTransactions: number;
  readonly maxBytes: number;
}

interface Entry extends HashedTransaction {
  readonly bytes: number;
  /** When it entered the pool, and when a proposal first named it (stages.ts; observation only). */
  readonly addedAt: number;
  proposedAt: number | undefined;
}

export interface MempoolTiming {
  /** Receives `to_proposal` and `to_commit` (stages.ts). */
  readonly stages?: TxStageObserver;
  readonly clock?: StageClock;
}

export class Mempool {
  readonly #entries = new Map<Hex, Entry>();
  readonly #limits: MempoolLimits;
  readonly #stages: TxStageObserver | undefined;
  readonly #clock: StageClock;
  #bytes = 0;
  constructor(limits: MempoolLimits, timing: MempoolTiming = {}) {
    this.#limits = limits;
    this.#stages = timing.stages;
    this.#clock = timing.clock ?? monotonic;
  }

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#bytes;
  }
  has(hash: Hex): boolean {
    return this.#entries.has(hash);
  }
  /** A pending transaction by hash: a proposal names its transactions by hash (consensus/compact-proposal.ts). */
  get(hash: Hex): HashedTransaction | undefined {
    return this.#entries.get(hash);
  }

  /** Throws TX_DUPLICATE or MEMPOOL_FULL; changes nothing then. */
  add(item: HashedTransaction, bytes: number): void {
    if (this.#entries.has(item.hash))
      throw new TillidError('TX_DUPLICATE', 'the transaction is already pending');
    if (this.#entries.size >= this.#limits.maxTransactions || this.#bytes + bytes > this.#limits.maxBytes) {
      throw new TillidError('MEMPOOL_FULL', 'the node is at capacity; retry with backoff');
    }
    this.#entries.set(item.hash, { ...item, bytes, addedAt: this.#clock(), proposedAt: undefined });
    this.#bytes += bytes;
  }

  /**
   * The oldest transactions, at most `max` of them and at most `maxBytes` together (but always the
   * oldest one), left in the pool until `remove`.
   */
  peek(max: number, maxBytes = Number.POSITIVE_INFINITY): HashedTransaction[] {
    const out: HashedTransaction[] = [];
    let bytes = 0;
    for (const entry of this.#entries.values()) {
      if (out.length >= max || (out.length > 0 && bytes + entry.bytes > maxBytes)) break;
      out.push(entry);
      bytes += entry.bytes;
    }
    return out;
  }

  /**
   * A proposal this node made or validated names these transactions: the first time for each
   * pending one ends its `to_proposal` stage (a later round's proposal does not restart it).
   */
  proposed(hashes: Iterable<Hex>): void {
    if (!this.#stages) return;
    const now = this.#clock();
    for (const hash of hashes) {
      const entry = this.#entries.get(hash);
      if (!entry || entry.proposedAt !== undefined) continue;
      entry.proposedAt = now;
      this.#stages.observe('to_proposal', (now - entry.addedAt) / 1000);
    }
  }

  /**
   * Takes transactions out of the pool: committed (a block holds them; ends the `to_commit` stage
   * of those a proposal had named) or, with `committed` false, dropped for good.
   */
  remove(hashes: Iterable<Hex>, committed = true): void {
    const now = this.#stages && committed ? this.#clock() : 0;
    for (const hash of hashes) {
      const entry = this.#entries.get(hash);
      if (!entry) continue;
      this.#entries.delete(hash);
      this.#bytes -= entry.bytes;
      if (now > 0 && entry.proposedAt !== undefined)
        this.#stages?.observe('to_commit', (now - entry.proposedAt) / 1000);
    }
  }
}
