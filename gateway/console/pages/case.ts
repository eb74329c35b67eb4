/**
 * The child's overview (issue 16's most valuable finding): every contract of one case across
 * providers, each with its period, cost, reports, payments, pending approvals and cascade, and a
 * form to draft another contract under the case.
 */
import { kroner } from '../danish.ts';
import { html } from '../html.ts';
import type { Session } from '../session.ts';
import { contractSection } from './contract.ts';
import { BASE, csrfField, kleNotice, kleRanges, layout } from './layout.ts';
import { type ContractSummary, type ContractView, monthly } from './views.ts';

export function casePage(
  s: Session,
  caseRef: string,
  contracts: readonly ContractView[],
  all: ReadonlyMap<string, ContractSummary>,
  outsideKle = 0,
) {
  const running = contracts.filter((c) => c.status === 'active' || c.status === 'suspended');
  const total = running.reduce((sum, c) => sum + monthly(c), 0);
  // Only the municipality drafts; a provider sees the case's contracts it is party to.
  const drafts = s.person.privileges.some((p) => p.role === 'caseworker');
  return layout({
    title: 'Sagens overblik',
    session: s,
    live: caseRef,
    body: html`<p>Sag (pseudonym) <code>${caseRef.slice(0, 16)}</code>: ${contracts.length} kontrakt(er), heraf ${running.length} løbende, i alt ${kroner(total)} pr. måned.</p>
${kleNotice(s, outsideKle)}
${contracts.map((c) => contractSection(s, c, all))}
${drafts ? draftForm(s, caseRef, contracts) : ''}`,
  });
}

function draftForm(s: Session, caseRef: string, contracts: readonly ContractView[]) {
  return html`<section aria-labelledby="ny-h"><h2 id="ny-h">Ny kontrakt i sagen</h2>
<form method="post" action="${BASE}/sager/${caseRef}/kontrakter" class="grid">${csrfField(s)}
<label for="template">Skabelon (kode, fx anbringelse)</label><input id="template" name="template" required maxlength="32">
<label for="provider">Leverandør (CVR)</label><input id="provider" name="provider" required inputmode="numeric" maxlength="8">
<label for="start">Start (dag 1–28)</label><input id="start" name="start" type="date" required>
<label for="months">Måneder</label><input id="months" name="months" type="number" min="1" max="120" value="12">
<label for="item">Ydelse (kode)</label><input id="item" name="item" required maxlength="32" value="ophold">
<label for="monthly">Pris pr. måned (kr.)</label><input id="monthly" name="monthly" type="number" min="1" max="1000000" required>
<label for="report">Statusrapport hver (måneder, 0 = ingen)</label><input id="report" name="reportEveryMonths" type="number" min="0" max="12" value="1">
<label for="kle">KLE-emne (valgfrit, fx 27.20.04)</label><input id="kle" name="kle" maxlength="8" inputmode="decimal" autocomplete="off" aria-describedby="kle-hint">
<p id="kle-hint" class="hint">${
    kleRanges(s)
      ? `Dine rettigheder dækker KLE ${kleRanges(s)}: en kontrakt uden for dem afvises.`
      : 'Dine rettigheder er ikke begrænset til KLE-emner.'
  }</p>
<label for="parent">Afhænger af</label><select id="parent" name="parent"><option value="">(ingen)</option>${contracts.map((c) => html`<option value="${c.id}">${c.id.slice(0, 12)} (CVR ${c.provider})</option>`)}</select>
<label for="onParentEnd">Når den ophører</label><select id="onParentEnd" name="onParentEnd"><option value="terminate">ophører denne også</option><option value="suspend">sættes denne i bero</option></select>
<button type="submit">Opret kladde</button>
</form></section>`;
}
