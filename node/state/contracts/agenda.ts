/**
 * The rules that run with time: at each monthly due date the payment decision (release, or
 * withhold), the announcement of lapsing line items and overdue reports, the expiry after the last
 * month, and the cascade to dependants when a contract ends. Driven by the agenda — the contracts
 * due on each business day — at block start, and by a late activation or amendment (catching up).
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import type { Hex } from '../../protocol/hash.ts';
import { append, readList } from '../lists.ts';
import type { BlockContext, StateWriter } from '../module.ts';
import { addMonths, dueDay, formatDate, parseDate } from './calendar.ts';
import {
  agendaKey,
  CLOCK,
  type ContractRecord,
  contractKey,
  currentTerms,
  hasEnded,
  read,
  requireContract,
  type Template,
  templateKey,
  termsFor,
  write,
} from './records.ts';
import { decide, missingReports } from './terms.ts';
import { record, recordDecision } from './timeline.ts';

/** A chain that was down for long catches up at most this many business days per block. */
const MAX_DAYS_PER_BLOCK = 400;

/** Puts the contract on `day`'s agenda, once. */
function schedule(state: StateWriter, day: number, c: ContractRecord): ContractRecord {
  if (c.scheduledFor === day) return c;
  append(state, agendaKey(day), c.id);
  return { ...c, scheduledFor: day };
}

/**
 * Makes every payment decision due on or before `today`, then expires a contract whose last month
 * is decided, or schedules its next due date. Runs at block start (the agenda) and when a contract
 * is activated or resumed late (catching up).
 */
export function catchUp(state: StateWriter, ctx: BlockContext, id: Hex, today: number): void {
  let c = requireContract(state, id);
  const start = parseDate(c.start) as number;
  while (c.status === 'active' || c.status === 'suspended') {
    const terms = currentTerms(c);
    const period = c.decided + 1;
    if (terms.months !== null && period > terms.months) {
      c = endContract(state, ctx, c, 'expired', today);
      break;
    }
    const due = dueDay(start, period);
    if (due > today) {
      c = schedule(state, due, c);
      break;
    }
    c = decidePeriod(state, ctx, c, period, today);
  }
  write(state, contractKey(id), c);
}

function decidePeriod(
  state: StateWriter,
  ctx: BlockContext,
  contract: ContractRecord,
  period: number,
  today: number,
): ContractRecord {
  let c = contract;
  const terms = currentTerms(c);
  const start = parseDate(c.start) as number;
  // Items that lapse from this period on are announced once, when they stop being paid.
  for (const item of terms.items) {
    if (
      item.until !== undefined &&
      !c.lapsed.includes(item.code) &&
      (parseDate(item.until) as number) <= addMonths(start, period - 1)
    ) {
      c = record(
        state,
        ctx,
        { ...c, lapsed: [...c.lapsed, item.code] },
        'item.lapsed',
        { item: item.code, until: item.until },
        today,
      );
    }
  }
  const reported = (p: number) => c.reports[String(p)] !== undefined;
  const inForce = (p: number) => termsFor(c, p);
  if (missingReports(inForce, period, reported).includes(period)) {
    c = record(state, ctx, c, 'report.overdue', { period, due: formatDate(dueDay(start, period)) }, today);
  }
  const parent = c.parent ? requireContract(state, c.parent) : undefined;
  const decision = decide({
    termsFor: inForce,
    start,
    period,
    suspended: c.status === 'suspended',
    // Only a resumed child outlives its parent (suspended until then): it runs on its own.
    parentActive: parent === undefined || parent.status === 'active' || hasEnded(parent),
    reported,
  });
  // Once every line item has lapsed there is nothing to decide; the economy system hears nothing.
  if (decision.amount > 0) c = recordDecision(state, ctx, c, decision, today);
  const template = read<Template>(state, templateKey(c.template)) as Template;
  if (decision.reason === 'report-missing' && template.releaseWithheldOnReport) {
    c = { ...c, releasable: [...c.releasable, { period, amount: decision.amount }] };
  }
  return { ...c, decided: period };
}

/** Terminates or expires a contract and, in the same block, its dependants per their rule. */
export function endContract(
  state: StateWriter,
  ctx: BlockContext,
  contract: ContractRecord,
  how: 'terminated' | 'expired',
  today: number,
  extra: JsonObject = {},
): ContractRecord {
  let c: ContractRecord = { ...contract, status: how, endedOn: formatDate(today) };
  c = record(state, ctx, c, how === 'terminated' ? 'contract.terminated' : 'contract.expired', extra, today);
  write(state, contractKey(c.id), c);
  for (const childId of c.children) {
    const child = requireContract(state, childId);
    if (child.status === 'terminated' || child.status === 'expired') continue;
    const cause = { cause: how === 'terminated' ? 'parent-terminated' : 'parent-expired', parent: c.id };
    if (child.onParentEnd === 'terminate' || child.status === 'draft') {
      endContract(state, ctx, child, 'terminated', today, cause);
    } else if (child.status === 'active') {
      write(
        state,
        contractKey(child.id),
        record(state, ctx, { ...child, status: 'suspended' }, 'contract.suspended', cause, today),
      );
    }
  }
  return c;
}
/**
 * Block start: processes the agenda of every business day since the last processed one, in agenda
 * order (the order contracts were scheduled in: the same on every node).
 */
export function processAgenda(state: StateWriter, ctx: BlockContext, today: number): void {
  const last = read<number>(state, CLOCK);
  if (last === undefined) {
    write(state, CLOCK, today);
    return;
  }
  if (today <= last) return;
  const until = Math.min(today, last + MAX_DAYS_PER_BLOCK);
  for (let day = last + 1; day <= until; day++)
    for (const id of readList<Hex>(state, agendaKey(day))) catchUp(state, ctx, id, day);
  write(state, CLOCK, until);
}
