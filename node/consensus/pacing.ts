/**
 * When the next height starts, and the timers that belong to one height. A height starts no sooner
 * than the block interval after the previous height started, so transactions gather into fewer,
 * fuller blocks; a height that took longer than the interval (a full block's execution, its votes
 * and its commit) is followed at once. The interval used to run from the commit (CometBFT's
 * timeout_commit), which added it to every height's own duration: idle blocks of a 250 ms
 * interval took 300–430 ms, and a K1 payment-decision block its execution twice, its votes and its
 * commit plus 250 ms (README, "K1 lifecycles": where a block's time goes).
 * A full block's worth already waiting — by count, or by the bytes a proposal carries — starts
 * the next height at once. With an empty mempool the wait is the longer empty-block interval, so a
 * quiet consortium does not grow its chain with empty blocks; work arriving, or another authority
 * starting the height, ends that idle wait (see wake()).
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
  /** When the last height started (on the timers' clock); undefined before the first. */
  #startedAt: number | undefined;

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

  /** A height started now (by this pacing's timer or otherwise): the next one's wait counts from here. */
  started(): void {
    this.#startedAt = this.#timers.now();
  }

  /**
   * Schedules the next height after a commit: at once if the mempool fills a block (`maxCount`
   * transactions or `maxBytes`), the empty-block interval after the last start if there is
   * nothing to do, else the block interval after it. Messages that arrive meanwhile are buffered
   * by the engine.
   */
  afterCommit(mempool: { size: number; bytes: number }, maxCount: number, maxBytes: number): void {
    const full = mempool.size >= maxCount || mempool.bytes >= maxBytes;
    this.#idle = mempool.size === 0 && this.#emptyBlockIntervalMs > this.#blockIntervalMs;
    this.#scheduleStart(
      full ? 0 : this.#sinceStart(this.#idle ? this.#emptyBlockIntervalMs : this.#blockIntervalMs),
    );
  }

  /** Ends an idle wait: the next height starts one block interval after the last one started. */
  wake(): void {
    if (!this.#idle) return;
    this.#idle = false;
    this.#scheduleStart(this.#sinceStart(this.#blockIntervalMs));
  }

  /** A full block is waiting: the next height starts now rather than after its wait. */
  startNow(): void {
    this.#idle = false;
    this.#scheduleStart(0);
  }

  /** What is left of `intervalMs` counted from the last start (all of it before the first). */
  #sinceStart(intervalMs: number): number {
    const now = this.#timers.now();
    return Math.max(0, (this.#startedAt ?? now) + intervalMs - now);
  }

  #scheduleStart(delay: number): void {
    this.clear();
    this.schedule(delay, async () => {
      this.#idle = false;
      this.started();
      await this.#startHeight();
    });
  }
}
