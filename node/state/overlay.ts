/**
 * Copy-on-write state: reads fall through to a base, writes stay here until merged or dropped.
 * A block executes in one overlay over the store, each transaction in a child overlay, so a
 * rejected transaction leaves nothing behind.
 */
import type { Json } from '../protocol/canonical.ts';
import type { StateReader, StateWriter } from './module.ts';

export class StateOverlay implements StateWriter {
  readonly #base: StateReader;
  readonly writes = new Map<string, Json>();
  constructor(base: StateReader) {
    this.#base = base;
  }
  get(key: string): Json | undefined {
    return this.writes.has(key) ? this.writes.get(key) : this.#base.get(key);
  }
  /** Takes ownership of `value`: a module must not mutate it after setting it. */
  set(key: string, value: Json): void {
    this.writes.set(key, value);
  }
  /** Moves this overlay's writes into `target`. */
  mergeInto(target: StateOverlay): void {
    for (const [k, v] of this.writes) target.writes.set(k, v);
  }
}

/** An in-memory state, for replaying a chain without a store (`tillid chain verify --api`). */
export class MemoryState implements StateReader {
  readonly #values = new Map<string, Json>();
  get(key: string): Json | undefined {
    return this.#values.get(key);
  }
  apply(writes: ReadonlyMap<string, Json>): void {
    for (const [k, v] of writes) this.#values.set(k, v);
  }
}
