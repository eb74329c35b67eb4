/**
 * Append-only lists in state, one key per entry plus a count: `<key>` holds the length and
 * `<key>/<n>` the n-th entry. Appending writes two small keys, however long the list — a single
 * growing array would be rewritten (and re-hashed into the state root) on every append, which is
 * quadratic when a block appends thousands of payment decisions or events.
 */
import type { Json } from '../protocol/canonical.ts';
import type { StateReader, StateWriter } from './module.ts';

export const listLength = (state: StateReader, key: string): number =>
  (state.get(key) as number | undefined) ?? 0;

/** Appends `value`; returns its index. */
export function append(state: StateWriter, key: string, value: Json): number {
  const n = listLength(state, key);
  state.set(`${key}/${n}`, value);
  state.set(key, n + 1);
  return n;
}

export function readList<T>(state: StateReader, key: string, from = 0, to = listLength(state, key)): T[] {
  const out: T[] = [];
  for (let i = from; i < to; i++) out.push(state.get(`${key}/${i}`) as unknown as T);
  return out;
}
