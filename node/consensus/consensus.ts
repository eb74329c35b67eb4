import type { Hex } from '../protocol/hash.ts';

/** What the node needs from whichever consensus it runs: single authority or consortium. */
export interface Consensus {
  start(): void | Promise<void>;
  /** Finishes the block in flight, then stops. */
  stop(): Promise<void>;
  /**
   * New transactions are waiting; a full block's worth may be worth producing at once. `hash`: the
   * one just admitted (a proposal may be waiting for it).
   */
  transactionsArrived(hash?: Hex): void;
}
