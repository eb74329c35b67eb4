/**
 * Read models over the contracts state, for the node API: a contract with its timeline and open
 * motions, contracts per party, due and overdue status reports, payment decisions per month, and
 * the event feed. Pure functions of a state reader and the current business day.
 */
import type { Hex } from '../../protocol/hash.ts';
import type { ChainEvent } from '../events.ts';
import { eventById, eventsAt } from '../events.ts';
import { readList } from '../lists.ts';
import type { StateReader } from '../module.ts';
import { readParty } from '../party/acting.ts';
import { dueDay, formatDate, parseDate } from './calendar.ts';
import { describe, evaluate } from './policy.ts';
import {
  byPartyKey,
  type ContractRecord,
  contractKey,
  currentTerms,
  type Motion,
  motionKey,
  paymentsKey,
  read,
  readTemplate,
  termsFor,
  timelineKey,
} from './records.ts';
import { isReportingPeriod } from './terms.ts';

export interface ReportDuty {
  readonly contract: Hex;
  readonly provider: string;
  readonly period: number;
  readonly due: string;
  readonly status: 'received' | 'overdue' | 'upcoming';
}

/**
 * Reporting periods of a contract: received, overdue (its month was decided without the report)
 * and, while the contract runs, the next one due.
 */
export function reportDuties(c: ContractRecord): ReportDuty[] {
  const { months } = currentTerms(c);
  const start = parseDate(c.start) as number;
  const duties: ReportDuty[] = [];
  const running = c.status === 'active' || c.status === 'suspended';
  // Decided months carry the duty of the terms in force for them; undecided ones the current terms.
  const last = months ?? c.decided + 12;
  for (let period = 1; period <= last; period++) {
    if (!isReportingPeriod(termsFor(c, period), period)) continue;
    const base = { contract: c.id, provider: c.provider, period, due: formatDate(dueDay(start, period)) };
    if (c.reports[String(period)] !== undefined) duties.push({ ...base, status: 'received' });
    else if (period <= c.decided) duties.push({ ...base, status: 'overdue' });
    else {
      if (running) duties.push({ ...base, status: 'upcoming' });
      break;
    }
  }
  return duties;
}

export function contractView(state: StateReader, id: Hex, today: number) {
  const c = read<ContractRecord>(state, contractKey(id));
  if (!c) return undefined;
  const timeline: ChainEvent[] = [];
  for (let n = 0; n < c.timeline; n++)
    timeline.push(eventById(state, read<string>(state, timelineKey(id, n)) as string) as ChainEvent);
  const template = readTemplate(state, c.template);
  const motions = timeline
    .filter((e) => e.type === 'contract.proposed')
    .map((e) => read<Motion>(state, motionKey(e.motion as Hex)) as Motion)
    .map((m) => {
      const policy = template?.policies[m.action];
      const evaluation = policy ? evaluate(policy, m.approvals) : undefined;
      const expired = m.status === 'open' && today > (parseDate(m.expiresOn) as number);
      return {
        ...m,
        status: expired ? 'expired' : m.status,
        ...(policy ? { policy: describe(policy) } : {}),
        ...(evaluation && m.status === 'open'
          ? { missing: evaluation.missing, remaining: evaluation.remaining }
          : {}),
      };
    });
  const payments = timeline.filter((e) => e.type === 'payment.released' || e.type === 'payment.withheld');
  return {
    ...c,
    terms: currentTerms(c),
    timeline,
    motions,
    payments,
    reportDuties: reportDuties(c),
  };
}

export function contractSummaries(state: StateReader, cvr: string) {
  return readList<Hex>(state, byPartyKey(cvr)).map((id) => {
    const c = read<ContractRecord>(state, contractKey(id)) as ContractRecord;
    const { versions: _v, reports: _r, documents: _d, releasable: _rel, lapsed: _l, ...summary } = c;
    return { ...summary, terms: currentTerms(c) };
  });
}

export function reportsOf(state: StateReader, cvr: string): ReportDuty[] {
  return readList<Hex>(state, byPartyKey(cvr)).flatMap((id) =>
    reportDuties(read<ContractRecord>(state, contractKey(id)) as ContractRecord).filter(
      (d) => d.status !== 'received',
    ),
  );
}

export const paymentsOf = (state: StateReader, municipality: string, month: string): unknown[] =>
  readList(state, paymentsKey(municipality, month));

/**
 * The payment decisions a party sees for a month: a municipality its own list; a provider the
 * decisions on its contracts, from the lists of the municipalities it has contracts with (in the
 * order it first contracted with them, each list in decision order). Anyone else: none.
 */
export function paymentsFor(state: StateReader, cvr: string, month: string): unknown[] {
  const party = readParty(state, cvr);
  if (party?.kind === 'municipality') return paymentsOf(state, cvr, month);
  if (party?.kind !== 'provider') return [];
  const municipalities = new Set(
    readList<Hex>(state, byPartyKey(cvr)).map(
      (id) => (read<ContractRecord>(state, contractKey(id)) as ContractRecord).municipality,
    ),
  );
  return [...municipalities].flatMap((m) =>
    readList<{ provider: string }>(state, paymentsKey(m, month)).filter((d) => d.provider === cvr),
  );
}

export const partyView = (state: StateReader, cvr: string) => readParty(state, cvr);

/**
 * Events after height `after`, oldest first, up to `limit` events; scans at most `maxHeights`
 * heights so one request stays cheap. `next` is the height to pass as `after` to continue.
 */
export function eventsAfter(
  state: StateReader,
  after: number,
  head: number,
  limit: number,
  maxHeights = 10_000,
): { events: ChainEvent[]; next: number } {
  const events: ChainEvent[] = [];
  let height = after;
  while (height < head && height - after < maxHeights) {
    const atHeight = eventsAt(state, height + 1);
    // Never split a height: the cursor is a height, so a height's events travel together.
    if (events.length > 0 && events.length + atHeight.length > limit) break;
    events.push(...atHeight);
    height++;
    if (events.length >= limit) break;
  }
  return { events, next: height };
}

/** The contract module's read queries (`Module.queries`): callers need not know the key layout. */
export const contractQueries = {
  contract: contractView,
  contracts: contractSummaries,
  reports: reportsOf,
  payments: paymentsOf,
  paymentsFor,
  template: readTemplate,
};
