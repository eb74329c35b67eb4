/**
 * The citizen's say, in plain Danish: write to the municipality about a service (a comment or a
 * request to correct it) and follow its status; give another person access to the case for a
 * period, see who holds access, revoke it; enter a code someone gave you. Built with the console's
 * `html` template, so a citizen's text is always text, never markup.
 */
import { html, type SafeHtml } from '../console/html.ts';
import { csrfField } from '../console/pages/layout.ts';
import type { Session } from '../console/session.ts';
import type { GrantRecord, GrantState } from './grants.ts';
import { MAX_MESSAGE_CHARS, type MessageRecord, type ShownStatus } from './messages.ts';
import { CITIZEN_BASE } from './pages.ts';
import type { Citizen, CitizenService } from './services.ts';

const KIND_DA = { comment: 'Bemærkning', correction: 'Anmodning om rettelse' } as const;
const STATUS_DA: Record<ShownStatus, string> = {
  received: 'Modtaget af kommunen',
  handled: 'Behandlet',
  undelivered: 'Ikke leveret til kommunens sagssystem endnu',
};
const GRANT_DA: Record<GrantState, string> = {
  waiting: 'Venter på, at koden bliver brugt',
  active: 'I brug',
  expired: 'Udløbet',
  revoked: 'Tilbagekaldt',
};

const serviceName = (x: CitizenService, words: (c: CitizenService) => string) =>
  `${words(x)} (${x.providerName ?? `CVR ${x.contract.provider}`})`;

/** "Skriv til kommunen": the form and the messages sent about the case, with their status. */
export function messagesSection(
  s: Session<Citizen>,
  ref: string,
  services: readonly CitizenService[],
  sent: readonly { record: MessageRecord; status: ShownStatus }[],
  words: (c: CitizenService) => string,
): SafeHtml {
  const name = new Map(services.map((x) => [x.contract.id, serviceName(x, words)]));
  return html`<section aria-labelledby="msg-h" id="henvendelser"><h2 id="msg-h">Skriv til kommunen</h2>
${
  services.length === 0
    ? html`<p>Når der er aftalt ydelser i sagen, kan du skrive til kommunen om dem her.</p>`
    : html`<p>Er noget forkert eller mangler der noget? Skriv en bemærkning eller bed om en rettelse. Beskeden går til din sagsbehandler i kommunens sagssystem, og en kvittering (et fingeraftryk af beskeden, ikke teksten) gemmes i Tillids fælles kæde.</p>
<form method="post" action="${CITIZEN_BASE}/sager/${ref}/henvendelser" class="grid">${csrfField(s)}
<label for="msg-service">Ydelse</label><select id="msg-service" name="contract" required>${services.map((x) => html`<option value="${x.contract.id}">${serviceName(x, words)}</option>`)}</select>
<label for="msg-kind">Hvad vil du?</label><select id="msg-kind" name="kind"><option value="correction">${KIND_DA.correction}</option><option value="comment">${KIND_DA.comment}</option></select>
<label for="msg-text">Din besked</label><textarea id="msg-text" name="text" required rows="5" maxlength="${MAX_MESSAGE_CHARS}" aria-describedby="msg-hint"></textarea>
<button type="submit">Send til kommunen</button>
</form>
<p class="hint" id="msg-hint">Skriv ikke CPR-numre. Højst ${MAX_MESSAGE_CHARS} tegn.</p>`
}
${
  sent.length === 0
    ? ''
    : html`<h3>Dine henvendelser</h3><table class="messages"><thead><tr><th scope="col">Sendt</th><th scope="col">Hvad</th><th scope="col">Ydelse</th><th scope="col">Status</th><th scope="col">Kvittering i kæden</th></tr></thead><tbody>
${sent.map(
  ({ record: r, status }) =>
    html`<tr data-message="${r.id}"><td>${r.sentAt.slice(0, 16).replace('T', ' ')} UTC</td><td>${KIND_DA[r.kind]}</td><td>${name.get(r.contract) ?? 'ydelsen'}</td><td>${STATUS_DA[status]}</td><td><code>${r.commitment.slice(0, 12)}…</code></td></tr>`,
)}</tbody></table>`
}</section>`;
}

/** "Fuldmagt": give someone access until a date, see the grants on the case and revoke them. */
export function grantsSection(
  s: Session<Citizen>,
  ref: string,
  given: readonly { grant: GrantRecord; state: GrantState }[],
  maxDate: string,
  minDate: string,
): SafeHtml {
  return html`<section aria-labelledby="grant-h" id="fuldmagter"><h2 id="grant-h">Giv en anden adgang (fuldmagt)</h2>
<p>Du kan give en anden person, fx en rådgiver eller et familiemedlem, adgang til at se ydelserne i sagen i en periode. Du får en kode, som du giver personen. Personen logger ind med sit eget MitID og skriver koden. Du kan tilbagekalde adgangen når som helst.</p>
<form method="post" action="${CITIZEN_BASE}/sager/${ref}/fuldmagter" class="grid">${csrfField(s)}
<label for="grant-until">Adgang til og med</label><input id="grant-until" name="until" type="date" required min="${minDate}" max="${maxDate}">
<button type="submit">Opret fuldmagt</button>
</form>
${
  given.length === 0
    ? ''
    : html`<table class="grants"><thead><tr><th scope="col">Oprettet</th><th scope="col">Til og med</th><th scope="col">Status</th><th scope="col">Handling</th></tr></thead><tbody>
${given.map(
  ({ grant: g, state }) =>
    html`<tr data-grant="${g.id}"><td>${g.from}</td><td>${g.until}</td><td>${GRANT_DA[state]}</td><td>${
      state === 'waiting' || state === 'active'
        ? html`<form method="post" action="${CITIZEN_BASE}/sager/${ref}/fuldmagter/${g.id}/tilbagekald">${csrfField(s)}<button type="submit" aria-label="Tilbagekald fuldmagten til og med ${g.until}">Tilbagekald</button></form>`
        : ''
    }</td></tr>`,
)}</tbody></table>`
}</section>`;
}

/** The code, shown once after a grant is made. */
export const grantCodeBody = (ref: string, code: string, until: string) =>
  html`<p role="status">Fuldmagten er oprettet og registreret i Tillids fælles kæde (uden navne og CPR-numre).</p>
<p>Giv denne kode til den person, der skal have adgang. Koden vises kun denne ene gang:</p>
<p class="code"><strong data-code>${code}</strong></p>
<p>Personen kan se ydelserne i sagen til og med ${until}, efter at have logget ind med MitID og skrevet koden på forsiden.</p>
<p><a href="${CITIZEN_BASE}/sager/${ref}">Tilbage til sagen</a></p>`;

/** On the home page: the grants the person holds, and a form for a code. */
export function heldSection(s: Session<Citizen>, held: readonly { grant: GrantRecord; state: GrantState }[]) {
  return html`<section aria-labelledby="held-h"><h2 id="held-h">Sager, du har fuldmagt til</h2>
${
  held.length === 0
    ? html`<p>Du har ingen fuldmagter.</p>`
    : html`<ul>${held.map(({ grant: g, state }) =>
        state === 'active'
          ? html`<li><a href="${CITIZEN_BASE}/fuldmagter/${g.id}">Sag delt med dig, til og med ${g.until}</a></li>`
          : html`<li>Sag delt med dig, til og med ${g.until}: ${GRANT_DA[state].toLowerCase()}</li>`,
      )}</ul>`
}
<form method="post" action="${CITIZEN_BASE}/fuldmagter" class="grid">${csrfField(s)}
<label for="grant-code">Kode fra den, der gav dig fuldmagt</label><input id="grant-code" name="code" required maxlength="32" autocomplete="off">
<button type="submit">Brug koden</button>
</form></section>`;
}
