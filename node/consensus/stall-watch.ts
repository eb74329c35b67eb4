/**
 * Noticing a stalled height. Gossip is best effort: a lost proposal or vote, or an equivocator
 * that showed different peers different votes, can leave a height without progress although
 * enough authorities are up. The host ticks at a fixed interval; a height running without
 * progress for stallMs is a stall, and the host then re-sends what it holds (see host.ts, #tick).
 * The tick also paces how often this node answers a behind peer with its head.
 */
import type { HostTimers } from './host-ports.ts';

export class StallWatch {
  readonly #timers: HostTimers;
  readonly #tickMs: number;
  readonly #stallMs: number;
  #tickTimer: number | undefined;
  #stopped = true;
  #lastProgress = 0;
  #lastStatusReply = Number.NEGATIVE_INFINITY;

  constructor(timers: HostTimers, tickMs: number, stallMs: number) {
    this.#timers = timers;
    this.#tickMs = tickMs;
    this.#stallMs = stallMs;
  }

  /** Time of the last progress (a commit, by decision or sync, or a re-send after a stall). */
  get lastProgressAt(): number {
    return this.#lastProgress;
  }

  /** Runs `tick` every tick interval until stop(); the next tick is set once this one is done. */
  start(tick: () => Promise<void>): void {
    this.#stopped = false;
    this.#lastProgress = this.#timers.now();
    const schedule = (): void => {
      this.#tickTimer = this.#timers.set(this.#tickMs, async () => {
        if (this.#stopped) return;
        await tick();
        schedule();
      });
    };
    schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#tickTimer !== undefined) this.#timers.clear(this.#tickTimer);
  }

  progressed(): void {
    this.#lastProgress = this.#timers.now();
  }

  /** Whether the height has gone stallMs without progress; if so, the re-send counts as progress. */
  stalled(): boolean {
    const now = this.#timers.now();
    if (now - this.#lastProgress < this.#stallMs) return false;
    this.#lastProgress = now;
    return true;
  }

  /** At most once a tick: a behind peer's status is answered with our head, not every message. */
  mayAnswerStatus(): boolean {
    const now = this.#timers.now();
    if (now - this.#lastStatusReply < this.#tickMs) return false;
    this.#lastStatusReply = now;
    return true;
  }
}
