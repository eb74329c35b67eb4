/** What the node needs from whichever consensus it runs: single authority or consortium. */
export interface Consensus {
  start(): void | Promise<void>;
  /** Finishes the block in flight, then stops. */
  stop(): Promise<void>;
  /** New transactions are waiting; a full block's worth may be worth producing at once. */
  transactionsArrived(): void;
}
