/**
 * Amending a contract: the version history of its terms (which terms apply from which period, set
 * at which height by which motion) and the form proposing an amendment motion — new monthly
 * prices for the line items in force, optionally a new length — which its template's `amend`
 * policy must then approve.
 */
import { kroner } from '../danish.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Session } from '../session.ts';
import { BASE, csrfField } from './layout.ts';
import type { ContractView, TermsVersionView } from './views.ts';

export function versionHistory(versions: readonly TermsVersionView[] | undefined): SafeHtml {
  if (!versions || versions.length === 0) return html``;
  return html`<table class="versions"><caption>Versioner af vilkårene</caption><thead><tr><th scope="col">Version</th><th scope="col">Gælder fra periode</th><th scope="col">Ydelser pr. måned</th><th scope="col">Måneder</th><th scope="col">Vedtaget ved højde</th></tr></thead><tbody>
${versions.map(
  (v, i) =>
    html`<tr><td>${i + 1}${v.motion ? html` (ændring <code>${v.motion.slice(0, 8)}</code>)` : ' (oprettelse)'}</td><td>${v.fromPeriod}</td><td>${v.terms.items.map((x, j) => html`${j > 0 ? '; ' : ''}${x.code}: ${kroner(x.monthly)}${x.until ? ` til ${x.until}` : ''}`)}</td><td>${v.terms.months ?? 'løbende'}</td><td>${v.height}</td></tr>`,
)}
</tbody></table>`;
}

export function amendForm(s: Session, c: ContractView): SafeHtml {
  if (c.status === 'terminated' || c.status === 'expired') return html``;
  const municipality = s.person.privileges.some(
    (p) => p.role !== 'provider-representative' && p.role !== 'auditor',
  );
  if (!municipality) return html``;
  const id = `aendr-${c.id.slice(0, 12)}`;
  return html`<h4>Foreslå ændring</h4>
<form method="post" action="${BASE}/kontrakter/${c.id}/aendring">${csrfField(s)}
${c.terms.items.map(
  (x, i) =>
    html`<label for="${id}-${i}">Ny pris pr. måned for ${x.code} (kr.)</label>
<input id="${id}-${i}" name="pris-${i}" inputmode="numeric" required value="${Math.round(x.monthly / 100)}">`,
)}
<label for="${id}-m">Måneder i alt (tom: uændret)</label>
<input id="${id}-m" name="months" inputmode="numeric">
<button type="submit">Send ændringsforslag</button>
</form>
<h4>Ændr én ydelse</h4>
<form method="post" action="${BASE}/kontrakter/${c.id}/aendring/ydelse">${csrfField(s)}
<label for="${id}-y">Ydelse</label>
<select id="${id}-y" name="ydelse">${c.terms.items.map((x) => html`<option value="${x.code}">${x.code} (${kroner(x.monthly)}${x.until ? ` til ${x.until}` : ''})</option>`)}</select>
<label for="${id}-yp">Ny pris pr. måned (kr.; tom: uændret)</label>
<input id="${id}-yp" name="pris" inputmode="numeric" autocomplete="off">
<label for="${id}-yt">Ydelsen ophører efter (dato; tom: uændret)</label>
<input id="${id}-yt" name="til" type="date">
<button type="submit">Send ændring af ydelsen</button>
</form>
<p class="hint">De øvrige ydelser fortsætter uændret; ændringen gælder fra den næste uafgjorte periode, når den er godkendt.</p>`;
}
