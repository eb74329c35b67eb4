/**
 * Starting and stopping a node's parts, in one place: parts start in the order given and stop in
 * reverse, so nothing stops while a later part still uses it. A part that fails to start stops the
 * ones already started, so a failed start leaves no open store, socket or worker behind.
 */

/** A part with a life (js-libp2p calls this Startable). */
export interface Startable {
  start?(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export class Lifecycle {
  readonly #parts: readonly Startable[];
  #started: Startable[] = [];

  constructor(parts: readonly Startable[]) {
    this.#parts = parts;
  }

  async start(): Promise<void> {
    for (const part of this.#parts) {
      try {
        await part.start?.();
      } catch (e) {
        await this.stop();
        throw e;
      }
      this.#started.push(part);
    }
  }

  /** Stops what was started, last first; a second call does nothing. */
  async stop(): Promise<void> {
    const started = this.#started;
    this.#started = [];
    for (const part of started.reverse()) await part.stop();
  }
}
