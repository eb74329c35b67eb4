/**
 * Admission takes turns with everything else on the main thread. The synchronous part of admitting
 * a transaction (decoding, hashing, duplicate lookups in the store, the stateless checks) costs
 * about 0.2 ms, and a gossiped batch holds up to 500 transactions: admitted in one go, a vote or a
 * proposal arriving meanwhile waits ~100 ms per batch, and several batches queue up at saturation,
 * which stalls consensus (profiled with bench:network). So at most SLICE admissions start per turn
 * of the event loop; the rest wait for the next turn (`setImmediate`, after pending I/O), in
 * arrival order. Consensus messages are handled in between, so they wait at most one slice.
 *
 * `waiting` is the backlog, which TxGossip uses to refuse more gossip work while it is long
 * (backpressure): a node that cannot keep up admits what it already has before taking more.
 */
export const SLICE = 32;

export class AdmissionTurns {
  readonly #slice: number;
  #left: number;
  #waiting = 0;
  #nextTurn: Promise<void> | undefined;

  constructor(slice = SLICE) {
    this.#slice = slice;
    this.#left = slice;
  }

  /** Admissions waiting for a turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Resolves when the caller may run its synchronous part (at once while this turn has room). */
  async take(): Promise<void> {
    while (this.#left === 0) {
      this.#waiting++;
      try {
        await this.#turn();
      } finally {
        this.#waiting--;
      }
    }
    this.#left--;
    // The first admission of a turn starts the clock for the next: the budget refills after the
    // event loop has had its chance at pending I/O, whether or not anyone is waiting.
    if (this.#left === this.#slice - 1) void this.#turn();
  }

  #turn(): Promise<void> {
    this.#nextTurn ??= new Promise((resolve) =>
      setImmediate(() => {
        this.#nextTurn = undefined;
        this.#left = this.#slice;
        resolve();
      }),
    );
    return this.#nextTurn;
  }
}
