/**
 * A contract's timeline: every event about a contract is emitted on the block's event list and its
 * id appended to the contract's timeline; payment decisions also go to the municipality's list for
 * the month.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { emit } from '../events.ts';
import { append } from '../lists.ts';
import type { BlockContext, StateWriter } from '../module.ts';
import { dueDay, formatDate, monthOf, parseDate } from './calendar.ts';
import { type ContractRecord, paymentsKey, read, timelineKey, write } from './records.ts';
import type { Decision } from './terms.ts';

/** Emits a contract event and appends it to the contract's timeline. Returns the updated record. */
export function record(
  state: StateWriter,
  ctx: BlockContext,
  c: ContractRecord,
  type: string,
  extra: JsonObject = {},
  today?: number,
): ContractRecord {
  const event = emit(state, ctx, type, {
    contract: c.id,
    municipality: c.municipality,
    provider: c.provider,
    ...(c.kle ? { kle: c.kle } : {}),
    ...(today !== undefined ? { on: formatDate(today) } : {}),
    ...extra,
  });
  // The id only: the event itself is in the block's list, and state roots hash each value once.
  write(state, timelineKey(c.id, c.timeline), event.id);
  return { ...c, timeline: c.timeline + 1 };
}

export function recordDecision(
  state: StateWriter,
  ctx: BlockContext,
  c: ContractRecord,
  d: Decision,
  today: number,
): ContractRecord {
  const type = d.kind === 'release' ? 'payment.released' : 'payment.withheld';
  const due = formatDate(dueDay(parseDate(c.start) as number, d.period));
  const next = record(
    state,
    ctx,
    c,
    type,
    { period: d.period, due, amount: d.amount, reason: d.reason },
    today,
  );
  const event = read<string>(state, timelineKey(c.id, c.timeline)) as string;
  const month = monthOf(today);
  const entry = {
    contract: c.id,
    provider: c.provider,
    period: d.period,
    due,
    kind: d.kind,
    amount: d.amount,
    reason: d.reason,
    event,
  };
  append(state, paymentsKey(c.municipality, month), entry);
  return d.kind === 'release' ? { ...next, released: next.released + d.amount } : next;
}
