/**
 * Calendar arithmetic for contracts, on UTC calendar dates (`YYYY-MM-DD`) and day numbers (days
 * since 1970-01-01). Pure: `Date.UTC` is a fixed function of its arguments, never the wall clock.
 *
 * A contract's months are counted from its start date: period m (1-based) runs from
 * `start + (m-1) months` up to `start + m months`, which is also period m's due date — payment is
 * decided in arrears, when the month has been delivered. Start days are limited to 1–28 so that
 * every monthly due date exists (there is no 31 February to round to).
 */
import type { Genesis } from '../../protocol/genesis.ts';
import type { BlockContext } from '../module.ts';

export const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses `YYYY-MM-DD`; `undefined` for anything else, including impossible dates. */
export function parseDate(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1) return undefined;
  const ms = Date.UTC(y, mo - 1, d);
  if (new Date(ms).getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

export function formatDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export const dayOfMonth = (day: number): number => new Date(day * DAY_MS).getUTCDate();

export function addMonths(day: number, months: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate()) / DAY_MS;
}

/** The calendar month `YYYY-MM` a day falls in: how payment decisions are grouped per period. */
export const monthOf = (day: number): string => formatDate(day).slice(0, 7);

export const periodStart = (start: number, period: number): number => addMonths(start, period - 1);
export const dueDay = (start: number, period: number): number => addMonths(start, period);

/** The business clock a chain runs on (see the README): block time, or accelerated for development. */
export type BusinessClock =
  | { readonly kind: 'block-time' }
  | { readonly kind: 'accelerated'; readonly origin: number; readonly msPerBlock: number };

export const clockOf = (genesis: Genesis): BusinessClock => genesis.params.clock ?? { kind: 'block-time' };

/** Business time of a block, ms since the epoch. */
export function businessTime(clock: BusinessClock, ctx: Pick<BlockContext, 'height' | 'timestamp'>): number {
  return clock.kind === 'accelerated' ? clock.origin + ctx.height * clock.msPerBlock : ctx.timestamp;
}

export const businessDay = (clock: BusinessClock, ctx: Pick<BlockContext, 'height' | 'timestamp'>): number =>
  Math.floor(businessTime(clock, ctx) / DAY_MS);
