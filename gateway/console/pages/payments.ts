/**
 * The payment overview (issue 16's provider view, shown to every organisation): one month's
 * payment decisions on the organisation's contracts — released with the amount, or withheld and
 * why — with the month's totals, and the status reports still due (overdue first, then upcoming).
 */
import { kroner, REASON_DA, REPORT_DA, word } from '../danish.ts';
import { html } from '../html.ts';
import type { Session } from '../session.ts';
import { BASE, layout } from './layout.ts';
import type { ContractSummary } from './views.ts';

/** A payment decision as the chain lists it per month (node/state/contracts/timeline.ts). */
export interface DecisionView {
  readonly contract: string;
  readonly provider: string;
  readonly period: number;
  readonly due: string;
  readonly kind: 'release' | 'withhold';
  readonly amount: number;
  readonly reason: string;
}

export interface DueReport {
  readonly contract: string;
  readonly provider: string;
  readonly period: number;
  readonly due: string;
  readonly status: string;
}

const MONTHS_DA = [
  'januar',
  'februar',
  'marts',
  'april',
  'maj',
  'juni',
  'juli',
  'august',
  'september',
  'oktober',
  'november',
  'december',
];
export const monthDa = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return `${MONTHS_DA[m - 1]} ${y}`;
};
/** The month `delta` months from `month` (YYYY-MM). */
export const shiftMonth = (month: string, delta: number): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + delta, 1)).toISOString().slice(0, 7);
};

export function paymentsPage(
  s: Session,
  month: string,
  decisions: readonly DecisionView[],
  due: readonly DueReport[],
  contracts: ReadonlyMap<string, ContractSummary>,
) {
  const released = decisions.filter((d) => d.kind === 'release');
  const withheld = decisions.filter((d) => d.kind !== 'release');
  const total = released.reduce((sum, d) => sum + d.amount, 0);
  const overdueFirst = [...due].sort(
    (a, b) => Number(b.status === 'overdue') - Number(a.status === 'overdue') || a.due.localeCompare(b.due),
  );
  const link = (id: string) => html`<a href="${BASE}/kontrakter/${id}">${id.slice(0, 12)}</a>`;
  return layout({
    title: 'Betalinger og rapporter',
    session: s,
    live: 'payments',
    body: html`<form method="get" action="${BASE}/betalinger" class="inline">
<label for="maaned">Måned</label>
<input id="maaned" name="maaned" type="month" required pattern="[0-9]{4}-[0-9]{2}" value="${month}">
<button type="submit">Vis måned</button>
</form>
<p><a href="${BASE}/betalinger?maaned=${shiftMonth(month, -1)}">Forrige måned</a> · <a href="${BASE}/betalinger?maaned=${shiftMonth(month, 1)}">Næste måned</a></p>
<section aria-labelledby="beslut-h"><h2 id="beslut-h">Betalingsbeslutninger i ${monthDa(month)}</h2>
<p class="summary">${released.length} frigivet i alt ${kroner(total)}; ${withheld.length} tilbageholdt.</p>
${
  decisions.length === 0
    ? html`<p>Ingen beslutninger i ${monthDa(month)}.</p>`
    : html`<table class="decisions"><caption>Kæden afgør hver måned ved forfald: frigiv, eller tilbagehold mens en rapport mangler</caption><thead><tr><th scope="col">Kontrakt</th><th scope="col">Kommune</th><th scope="col">Leverandør</th><th scope="col">Periode (forfald)</th><th scope="col">Afgørelse</th><th scope="col">Beløb (frigivet eller tilbageholdt)</th><th scope="col">Hvorfor</th></tr></thead><tbody>
${decisions.map(
  (d) =>
    html`<tr class="${d.kind}"><td>${link(d.contract)}</td><td>${contracts.get(d.contract)?.municipality ?? ''}</td><td>${d.provider}</td><td>${d.period} (${d.due})</td><td>${d.kind === 'release' ? 'frigivet' : 'tilbageholdt'}</td><td>${kroner(d.amount)}</td><td>${word(REASON_DA, d.reason)}</td></tr>`,
)}
</tbody></table>`
}</section>
<section aria-labelledby="rap-h"><h2 id="rap-h">Statusrapporter, der skal sendes</h2>
${
  overdueFirst.length === 0
    ? html`<p>Ingen rapporter forfaldne eller på vej.</p>`
    : html`<table class="due"><caption>Forsinkede først; en forsinket rapport holder månedens betaling tilbage</caption><thead><tr><th scope="col">Kontrakt</th><th scope="col">Leverandør</th><th scope="col">Periode</th><th scope="col">Forfald</th><th scope="col">Status</th></tr></thead><tbody>
${overdueFirst.map(
  (r) =>
    html`<tr class="report-${r.status}"><td>${link(r.contract)}</td><td>${r.provider}</td><td>${r.period}</td><td>${r.due}</td><td>${word(REPORT_DA, r.status)}</td></tr>`,
)}
</tbody></table>`
}</section>`,
  });
}
