/**
 * A contract's terms and the pure rules over them: what a month costs, which status reports are
 * due, and the payment decision for a month. No state access here, so the rules are easy to test
 * and to read next to the README's description of them.
 */
import { LIMITS } from '../../schemas/limits.ts';
import { parseDate, periodStart } from './calendar.ts';

export interface LineItem {
  /** Short code, e.g. `residential`, `school`, `school-support`. */
  readonly code: string;
  /** Monthly price in øre. */
  readonly monthly: number;
  /** A time-limited item lapses from the first period starting on or after this date. */
  readonly until?: string;
}

export interface Terms {
  readonly items: readonly LineItem[];
  /** Number of monthly periods; `null` runs until terminated. */
  readonly months: number | null;
  /** A status report is due every n-th month (n, 2n, …); 0 means none. */
  readonly reportEveryMonths: number;
}

export type Reason = 'scheduled' | 'report-missing' | 'report-received' | 'suspended' | 'parent-not-active';

export interface Decision {
  readonly period: number;
  readonly kind: 'release' | 'withhold';
  readonly amount: number;
  readonly reason: Reason;
}

/** The protocol's limits (defined once, with the payload schemas, in node/schemas/limits.ts). */
export const MAX_MONTHLY = LIMITS.maxMonthly; // 1,000,000 kr a month per line item
export const MAX_ITEMS = LIMITS.maxItems;
export const MAX_MONTHS = LIMITS.maxMonths;

/** Items in force in `period`: those without `until`, or whose `until` is after the period's start. */
export function itemsInForce(terms: Terms, start: number, period: number): LineItem[] {
  const from = periodStart(start, period);
  return terms.items.filter((i) => i.until === undefined || (parseDate(i.until) as number) > from);
}

export const monthlyAmount = (terms: Terms, start: number, period: number): number =>
  itemsInForce(terms, start, period).reduce((sum, i) => sum + i.monthly, 0);

export const isReportingPeriod = (terms: Terms, period: number): boolean =>
  terms.reportEveryMonths > 0 && period % terms.reportEveryMonths === 0;

/**
 * Reporting periods up to and including `upTo` without a report, in order. Whether a month needs a
 * report is decided by the terms in force for that month: an amendment changes the duty only for
 * months not yet decided, never retroactively.
 */
export function missingReports(
  termsFor: (period: number) => Terms,
  upTo: number,
  reported: (period: number) => boolean,
): number[] {
  const missing: number[] = [];
  for (let p = 1; p <= upTo; p++) if (isReportingPeriod(termsFor(p), p) && !reported(p)) missing.push(p);
  return missing;
}

export interface DecisionInput {
  /** The terms in force for each period (each version applies from its first undecided period). */
  readonly termsFor: (period: number) => Terms;
  readonly start: number;
  readonly period: number;
  readonly suspended: boolean;
  readonly parentActive: boolean;
  readonly reported: (period: number) => boolean;
}

/**
 * The payment decision for `period` at its due date. Order matters and is the rule: a suspended
 * contract or one whose parent is not active is not payable at all; otherwise a missing status
 * report (this period's or an earlier one's) withholds the month; otherwise the month is released.
 */
export function decide(input: DecisionInput): Decision {
  const amount = monthlyAmount(input.termsFor(input.period), input.start, input.period);
  const { period } = input;
  if (input.suspended) return { period, kind: 'withhold', amount, reason: 'suspended' };
  if (!input.parentActive) return { period, kind: 'withhold', amount, reason: 'parent-not-active' };
  if (missingReports(input.termsFor, period, input.reported).length > 0)
    return { period, kind: 'withhold', amount, reason: 'report-missing' };
  return { period, kind: 'release', amount, reason: 'scheduled' };
}
