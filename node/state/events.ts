/**
 * Events: what happened in a block that systems outside the chain act on — a contract activated, a
 * payment released or withheld, a report overdue, a member admitted. Modules emit them as part of
 * state (the list `event/<height>`, see lists.ts), so they are covered by the state root, finalized with the block and
 * the same on every node; the gateway reads them from a cursor and delivers them at least once.
 * An event's id, `<height>-<n>`, is stable, so receivers recognise a duplicate delivery.
 */
import type { Json, JsonObject } from '../protocol/canonical.ts';
import { append, listLength, readList } from './lists.ts';
import type { BlockContext, StateReader, StateWriter } from './module.ts';

export interface ChainEvent {
  readonly id: string;
  readonly height: number;
  readonly type: string;
  readonly [field: string]: Json;
}

export const eventsKey = (height: number): string => `event/${height}`;

/** Appends an event to the block's list. Works inside a transaction's overlay: a rejected
 * transaction's events are discarded with the rest of its writes. */
export function emit(state: StateWriter, ctx: BlockContext, type: string, fields: JsonObject): ChainEvent {
  const key = eventsKey(ctx.height);
  const event: ChainEvent = {
    ...fields,
    id: `${ctx.height}-${listLength(state, key)}`,
    height: ctx.height,
    type,
  };
  append(state, key, event as unknown as Json);
  return event;
}

export const eventsAt = (state: StateReader, height: number): ChainEvent[] =>
  readList<ChainEvent>(state, eventsKey(height));

/** The event with id `<height>-<n>`, or `undefined`. */
export function eventById(state: StateReader, id: string): ChainEvent | undefined {
  const [height, n] = id.split('-');
  return state.get(`${eventsKey(Number(height))}/${Number(n)}`) as ChainEvent | undefined;
}
