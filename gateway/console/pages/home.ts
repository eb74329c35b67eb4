/** The start page: login, or the organisation's contracts and a way to open a case. */
import { kroner, STATUS_DA, word } from '../danish.ts';
import { html } from '../html.ts';
import type { Session } from '../session.ts';
import { BASE, csrfField, kleNotice, layout } from './layout.ts';
import { type ContractSummary, monthly } from './views.ts';

export const loginPage = (message?: string) =>
  layout({
    title: 'Log ind',
    body: html`${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<p>Konsollen viser kontrakter, godkendelser, statusrapporter og betalinger i Tillid.</p>
<p><a class="button" href="${BASE}/login">Log ind som medarbejder</a></p>
<p class="hint">Kommunens medarbejdere logger ind gennem kommunens identitetsudbyder (Context Handler), leverandører som medarbejder i deres organisation.</p>`,
  });

export function homePage(s: Session, contracts: readonly ContractSummary[], outsideKle = 0) {
  const municipality = s.person.privileges.some((p) => p.role !== 'provider-representative');
  return layout({
    title: 'Overblik',
    session: s,
    live: 'contracts',
    body: html`${
      municipality
        ? html`<section aria-labelledby="sag-h"><h2 id="sag-h">Åbn en sag</h2>
<form method="post" action="${BASE}/sag">${csrfField(s)}
<label for="sag">Sagsnummer</label>
<input id="sag" name="sag" required maxlength="40" autocomplete="off">
<button type="submit">Åbn sag</button>
</form>
<p class="hint">Sagsnummeret forlader ikke gatewayen: kontrakterne bærer kun et pseudonym af det.</p></section>`
        : ''
    }
<section aria-labelledby="k-h"><h2 id="k-h">Kontrakter (${contracts.length})</h2>
${kleNotice(s, outsideKle)}
${
  contracts.length === 0
    ? html`<p>Ingen kontrakter endnu.</p>`
    : html`<table><thead><tr><th scope="col">Kontrakt</th><th scope="col">Kommune</th><th scope="col">Leverandør</th><th scope="col">Start</th><th scope="col">Pr. måned</th><th scope="col">Status</th></tr></thead><tbody>
${contracts.map(
  (c) =>
    html`<tr><td><a href="${BASE}/kontrakter/${c.id}">${c.id.slice(0, 12)}</a></td><td>${c.municipality}</td><td>${c.provider}</td><td>${c.start}</td><td>${kroner(monthly(c))}</td><td>${word(STATUS_DA, c.status)}</td></tr>`,
)}
</tbody></table>`
}</section>`,
  });
}
