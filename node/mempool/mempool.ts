/**
 * Transactions waiting for a block, in arrival order, de-duplicated by hash and bounded in count
 * and bytes so a flood cannot exhaust memory. A full pool refuses new work (429) rather than
 * evicting what it already promised to include.
 */
import { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { HashedTransaction } from '../state/machine.ts';

export interface MempoolLimits {
  readonly maxTransactions: number;
  readonly maxBytes: number;
}

interface Entry extends HashedTransaction {
  readonly bytes: number;
}

export class Mempool {
  readonly #entries = new Map<Hex, Entry>();
  readonly #limits: MempoolLimits;
  #bytes = 0;
  constructor(limits: MempoolLimits) {
    this.#limits = limits;
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
    this.#entries.set(item.hash, { ...item, bytes });
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

  remove(hashes: Iterable<Hex>): void {
    for (const hash of hashes) {
      const entry = this.#entries.get(hash);
      if (!entry) continue;
      this.#entries.delete(hash);
      this.#bytes -= entry.bytes;
    }
  }
}
