/**
 * `contract.report`: the contract's provider records the status report for a reporting period (a
 * document commitment); when it completes the missing reports, what was withheld for them is
 * released if the template says so.
 */
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { addMonths, parseDate } from '../calendar.ts';
import { contractKey, currentTerms, requireContract, termsFor, write, wrongState } from '../records.ts';
import { isReportingPeriod, missingReports } from '../terms.ts';
import { record, recordDecision } from '../timeline.ts';
import type { ContractAction } from './action.ts';

export const report: ContractAction = {
  check() {},
  apply(state, tx, ctx, { acting, today }) {
    const p = tx.payload;
    let c = requireContract(state, p.contract as Hex);
    if (acting.party !== 'provider' || acting.cvr !== c.provider)
      throw new TillidError('PARTY_NOT_ON_CONTRACT', "a status report comes from the contract's provider");
    const terms = currentTerms(c);
    const period = p.period as number;
    // An ended contract still takes the reports for months it decided: a late report releases
    // what was withheld for it (the pilot's K1 expires on its last month, report or not).
    const ended = c.status === 'terminated' || c.status === 'expired';
    if (c.status === 'draft' || (ended && period > c.decided))
      throw wrongState(`contract ${c.id} is ${c.status}`);
    const start = parseDate(c.start) as number;
    if (!isReportingPeriod(termsFor(c, period), period))
      throw new TillidError('REPORT_PERIOD_INVALID', `no status report is required for period ${period}`);
    if ((terms.months !== null && period > terms.months) || addMonths(start, period - 1) > today)
      throw new TillidError('REPORT_PERIOD_INVALID', `period ${period} has not begun`);
    if (c.reports[String(period)])
      throw new TillidError('REPORT_EXISTS', `the report for period ${period} is recorded already`);
    c = {
      ...c,
      reports: { ...c.reports, [String(period)]: { document: p.document as Hex, height: ctx.height } },
    };
    c = record(
      state,
      ctx,
      c,
      'report.received',
      { period, document: p.document as Hex, actor: acting.actor },
      today,
    );
    const stillMissing = missingReports(
      (k) => termsFor(c, k),
      c.decided,
      (k) => c.reports[String(k)] !== undefined,
    );
    if (stillMissing.length === 0 && c.releasable.length > 0) {
      for (const { period: withheld, amount } of c.releasable)
        c = recordDecision(
          state,
          ctx,
          c,
          { period: withheld, kind: 'release', amount, reason: 'report-received' },
          today,
        );
      c = { ...c, releasable: [] };
    }
    write(state, contractKey(c.id), c);
  },
};
