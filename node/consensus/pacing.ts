/**
 * When the next height starts, and the timers that belong to one height. After a commit the next
 * height waits the block interval (CometBFT's timeout_commit), so transactions gather into fewer,
 * fuller blocks — unless a full block is already waiting. With an empty mempool it waits the longer
 * empty-block interval instead, so a quiet consortium does not grow its chain with empty blocks;
 * work arriving, or another authority starting the height, ends that idle wait (see wake()).
 *
 * The engine's round timeouts are kept here too: they, and the pending start, are all cleared
 * together when a height ends, so no timer of a finished height fires into the next one.
 */
import type { HostTimers } from './host-ports.ts';

export class HeightPacing {
  readonly #timers: HostTimers;
  readonly #blockIntervalMs: number;
  readonly #emptyBlockIntervalMs: number;
  readonly #startHeight: () => Promise<void>;
  /** Engine timeouts and the pending start of the next height; cleared when a height ends. */
  readonly #pending = new Set<number>();
  #idle = false;
  #committedAt = 0;

  /** `startHeight` runs the engine on the height after the head, when its wait is over. */
  constructor(
    timers: HostTimers,
    blockIntervalMs: number,
    emptyBlockIntervalMs: number,
    startHeight: () => Promise<void>,
  ) {
    this.#timers = timers;
    this.#blockIntervalMs = blockIntervalMs;
    this.#emptyBlockIntervalMs = emptyBlockIntervalMs;
    this.#startHeight = startHeight;
  }

  /** Waiting for work before an empty block: a quiet network, not a stalled one. */
  get idle(): boolean {
    return this.#idle;
  }

  /** A timer of the current height (an engine timeout), cleared with it. */
  schedule(delayMs: number, run: () => Promise<void>): void {
    const id = this.#timers.set(delayMs, async () => {
      this.#pending.delete(id);
      await run();
    });
    this.#pending.add(id);
  }

  /** Clears every timer of the height that ended (or of a host that stops). */
  clear(): void {
    for (const id of this.#pending) this.#timers.clear(id);
    this.#pending.clear();
  }

  /**
   * Schedules the next height after a commit: at once if `mempoolSize` fills a block, after the
   * empty-block interval if there is nothing to do, else after the block interval. Messages that
   * arrive meanwhile are buffered by the engine.
   */
  afterCommit(mempoolSize: number, maxBlockTransactions: number): void {
    this.#committedAt = this.#timers.now();
    const full = mempoolSize >= maxBlockTransactions;
    this.#idle = mempoolSize === 0 && this.#emptyBlockIntervalMs > this.#blockIntervalMs;
    this.#scheduleStart(full ? 0 : this.#idle ? this.#emptyBlockIntervalMs : this.#blockIntervalMs);
  }

  /** Ends an idle wait: the next height starts one block interval after the last commit. */
  wake(): void {
    if (!this.#idle) return;
    this.#idle = false;
    this.#scheduleStart(Math.max(0, this.#committedAt + this.#blockIntervalMs - this.#timers.now()));
  }

  /** A full block is waiting: the next height starts now rather than after its wait. */
  startNow(): void {
    this.#idle = false;
    this.#scheduleStart(0);
  }

  #scheduleStart(delay: number): void {
    this.clear();
    this.schedule(delay, async () => {
      this.#idle = false;
      await this.#startHeight();
    });
  }
}
