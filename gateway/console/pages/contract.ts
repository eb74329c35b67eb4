/**
 * One contract as people work with it: period, monthly cost, report duties, months released or
 * withheld and why, what awaits whose approval (in words), and the actions — approve, propose,
 * and terminate with its cascade shown before it happens.
 */
import { ACTION_DA, kroner, policyDa, REASON_DA, REPORT_DA, ROLE_DA, STATUS_DA, word } from '../danish.ts';
import { html } from '../html.ts';
import type { Session } from '../session.ts';
import { amendForm, versionHistory } from './amend.ts';
import { BASE, csrfField, layout } from './layout.ts';
import { type ContractSummary, type ContractView, cascadeOf, endOf, monthly } from './views.ts';

const APPROVING = ['centre-chief', 'director', 'provider-representative'];

function approveForm(s: Session, c: ContractView, motion: string) {
  const roles = [...new Set(s.person.privileges.map((p) => p.role).filter((r) => APPROVING.includes(r)))];
  const id = `rolle-${motion.slice(0, 8)}`;
  return html`<form method="post" action="${BASE}/kontrakter/${c.id}/forslag/${motion}/godkend">${csrfField(s)}
${
  roles.length > 1
    ? html`<label for="${id}">Godkend som</label><select id="${id}" name="role">${roles.map((r) => html`<option value="${r}">${ROLE_DA[r] ?? r}</option>`)}</select>`
    : ''
}<button type="submit">Godkend</button></form>`;
}

/** The provider's report upload, for the periods still due (overdue first, then the next one). */
function reportForm(s: Session, c: ContractView) {
  const due = c.reportDuties.filter((d) => d.status !== 'received');
  const provider = s.person.privileges.some((p) => p.role === 'provider-representative');
  if (!provider || due.length === 0 || (c.status !== 'active' && c.status !== 'suspended')) return '';
  const id = `rapport-${c.id.slice(0, 12)}`;
  return html`<h4>Indsend statusrapport</h4>
<form method="post" action="${BASE}/kontrakter/${c.id}/rapport" enctype="multipart/form-data">${csrfField(s)}
<label for="${id}-periode">Periode</label>
<select id="${id}-periode" name="period">${due.map((d) => html`<option value="${d.period}">${d.period} (forfald ${d.due}, ${word(REPORT_DA, d.status)})</option>`)}</select>
<label for="${id}-fil">Rapport (fil)</label>
<input id="${id}-fil" name="rapport" type="file" required>
<button type="submit">Indsend rapport</button>
</form>
<p class="hint">Filen gemmes uden for kæden; kæden får kun dens saltede fingeraftryk.</p>`;
}

export function contractSection(
  s: Session,
  c: ContractView,
  all: ReadonlyMap<string, ContractSummary>,
  level: 'h2' | 'h3' = 'h2',
) {
  const end = endOf(c);
  const open = c.motions.filter((m) => m.status === 'open');
  const cascade = cascadeOf(c.id, all);
  const heading = html`<a href="${BASE}/kontrakter/${c.id}">Kontrakt ${c.id.slice(0, 12)}</a> · leverandør CVR ${c.provider} · ${word(STATUS_DA, c.status)}`;
  const hid = `k-${c.id.slice(0, 12)}`;
  return html`<section class="contract" aria-labelledby="${hid}" data-contract="${c.id}">
${level === 'h2' ? html`<h2 id="${hid}">${heading}</h2>` : html`<h3 id="${hid}">${heading}</h3>`}
<dl>
<dt>Periode</dt><dd>${c.start} – ${end ?? 'løbende'}${c.terms.months ? html` (${c.terms.months} måneder)` : ''}</dd>
<dt>Pris pr. måned</dt><dd>${kroner(monthly(c))} (${c.terms.items.map((i) => `${i.code}: ${kroner(i.monthly)}`).join('; ')})</dd>
<dt>Statusrapport</dt><dd>${c.terms.reportEveryMonths > 0 ? `hver ${c.terms.reportEveryMonths}. måned` : 'ingen'}</dd>
${c.parent ? html`<dt>Afhænger af</dt><dd><a href="${BASE}/kontrakter/${c.parent}">${c.parent.slice(0, 12)}</a> (ved ophør: ${c.onParentEnd === 'suspend' ? 'sættes i bero' : 'ophører'})</dd>` : ''}
${c.kle ? html`<dt>KLE</dt><dd>${c.kle}</dd>` : ''}
</dl>
${versionHistory(c.versions)}
<h4>Statusrapporter</h4>
${
  c.reportDuties.length === 0
    ? html`<p>Ingen rapporter forfaldne.</p>`
    : html`<ul>${c.reportDuties.map((d) => html`<li class="report-${d.status}">Periode ${d.period} (forfald ${d.due}): ${word(REPORT_DA, d.status)}</li>`)}</ul>`
}
<h4>Betalinger</h4>
${
  c.payments.length === 0
    ? html`<p>Ingen måneder afgjort endnu.</p>`
    : html`<ul>${c.payments.map(
        (p) =>
          html`<li>Periode ${p.period}${p.due ? html` (${p.due})` : ''}: ${
            p.type === 'payment.released'
              ? html`udbetalt ${kroner(p.amount)}`
              : html`tilbageholdt – ${word(REASON_DA, p.reason)}`
          }</li>`,
      )}</ul>`
}
<h4>Afventer godkendelse</h4>
${
  open.length === 0
    ? html`<p>Intet afventer godkendelse.</p>`
    : html`<ul>${open.map(
        (m) =>
          html`<li class="motion"><strong>${word(ACTION_DA, m.action)}</strong> (frist ${m.expiresOn}): ${m.approvals.length} godkendelse(r); mangler <span class="missing">${policyDa(m.missing ?? '')}</span>
${approveForm(s, c, m.id)}</li>`,
      )}</ul>`
}
${reportForm(s, c)}
${amendForm(s, c)}
${
  c.status !== 'terminated' && c.status !== 'expired'
    ? html`<h4>Foreslå</h4>
<p class="cascade">${
        cascade.length === 0
          ? 'Opsigelse ender ingen andre kontrakter.'
          : html`Opsigelse vil også: ${cascade.map((x, i) => html`${i > 0 ? '; ' : ''}${x.effect === 'terminate' ? 'opsige' : 'sætte i bero'} kontrakt ${x.id.slice(0, 12)}`)}.`
      }</p>
<form method="post" action="${BASE}/kontrakter/${c.id}/forslag">${csrfField(s)}
<label for="handling-${hid}">Handling</label>
<select id="handling-${hid}" name="action">
${(['activate', 'suspend', 'resume', 'terminate'] as const).map((a) => html`<option value="${a}">${ACTION_DA[a]}</option>`)}
</select>
<button type="submit">Foreslå</button></form>`
    : ''
}
</section>`;
}

export const contractPage = (s: Session, c: ContractView, all: ReadonlyMap<string, ContractSummary>) =>
  layout({
    title: `Kontrakt ${c.id.slice(0, 12)}`,
    session: s,
    live: c.id,
    body: html`${c.caseRef ? html`<p><a href="${BASE}/sager/${c.caseRef}">Til sagens overblik</a></p>` : ''}${contractSection(s, c, all)}`,
  });
