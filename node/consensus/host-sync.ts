/**
 * The consensus host's side of block sync: when to ask (a peer's head, from its status or its
 * messages for later heights, two or more ahead — or any ahead while this node does not run the
 * engine), committing what a peer served after each block's check (catch-up.ts), punishing a peer
 * that served an invalid block, and trying another after a failure. What the host does once the
 * head moved (take part in the next height) stays in host.ts.
 *
 * Appends to the chain go through the host's AppendQueue, shared with the commit of decisions:
 * the two take turns, each re-checking the head. Deterministic given the order of calls.
 */
import type { Chain } from '../chain/chain.ts';
import type { Mempool } from '../mempool/mempool.ts';
import { CatchUp, checkSyncedBlock } from './catch-up.ts';
import type { HostEvents, HostNetwork } from './host-ports.ts';

/** Runs appends to the chain one after another, each after every earlier one has finished. */
export class AppendQueue {
  #tail: Promise<void> = Promise.resolve();

  run<T>(append: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(append);
    this.#tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /** Resolves once every append queued so far has finished. */
  async drained(): Promise<void> {
    await this.#tail;
  }
}

export interface HostSyncOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly network: HostNetwork;
  readonly events: HostEvents | undefined;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly appends: AppendQueue;
  /** Whether the host's engine is working on the height after the head. */
  readonly running: () => boolean;
  readonly stopped: () => boolean;
}

export class HostSync {
  readonly #o: HostSyncOptions;
  /** Highest head each peer is known to have: from its status, or from its messages for later heights. */
  readonly #catchUp: CatchUp;

  constructor(options: HostSyncOptions) {
    this.#o = options;
    this.#catchUp = new CatchUp(options.now, options.timeoutMs, (peer, from) =>
      options.network.requestBlocks(peer, from),
    );
  }

  /** A peer's head height, from its status or a message of its for a later height. */
  noteHead(peer: string, height: number): void {
    if (!this.#catchUp.note(peer, height)) return;
    // One block behind is normal while our engine is deciding that block; two means consensus has
    // moved on. A node not running the engine (following, or waiting to vote) syncs at once.
    const head = this.#o.chain.head.height;
    if (height >= head + 2 || (height > head && !this.#o.running())) this.request();
  }

  behind(): boolean {
    return this.#catchUp.ahead(this.#o.chain.head.height);
  }

  request(): void {
    if (!this.#o.stopped()) this.#catchUp.request(this.#o.chain.head.height);
  }

  /**
   * Blocks `from` sent in answer to requestBlocks, each checked before it is committed; an invalid
   * one ends the batch and punishes the peer. Returns the head before them (the host compares).
   */
  async apply(from: string, raw: readonly unknown[]): Promise<number> {
    this.#catchUp.answered(from);
    const { chain, mempool, events } = this.#o;
    const start = chain.head.height;
    if (this.#o.stopped()) return start;
    let bad: string | undefined;
    for (const input of raw) {
      bad = await this.#o.appends.run(async () => {
        const checked = checkSyncedBlock(chain, input);
        if (!checked.ok) return checked.problem;
        await chain.commit(checked.block, checked.execution);
        mempool.remove(checked.execution.included.map((t) => t.hash));
        events?.committed?.(checked.block, 'sync');
        return undefined;
      });
      if (bad !== undefined || this.#o.stopped()) break;
    }
    if (bad !== undefined) {
      this.#catchUp.forget(from);
      this.#o.network.punish(from, bad);
    }
    if (chain.head.height > start) events?.caughtUp?.(start + 1, chain.head.height, from);
    else if (raw.length === 0) this.#catchUp.forget(from);
    return start;
  }

  /** A block request failed (peer unreachable, timed out): forget what it claimed and try another. */
  failed(from: string): void {
    this.#catchUp.forget(from);
    if (!this.#o.stopped() && this.behind()) this.request();
  }
}
