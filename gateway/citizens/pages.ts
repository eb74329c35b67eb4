/**
 * The citizens' pages ("Mine ydelser"), in plain Danish, built with the console's kit (the `html`
 * escaping template, the layout, the stylesheet). What a service shows: what it is, from when to
 * when, which organisation delivers it (never a staff member), its status, the next status report
 * due and whether it runs as agreed. No amounts: see ../citizens/README.md for why.
 */
import { STATUS_DA, word } from '../console/danish.ts';
import { html, type SafeHtml } from '../console/html.ts';
import { csrfField, layout } from '../console/pages/layout.ts';
import { endOf } from '../console/pages/views.ts';
import type { Session } from '../console/session.ts';
import type { CaseSubject } from './case-system.ts';
import type { Citizen, CitizenCaseView, CitizenService, LogLine } from './services.ts';

const PURPOSE_DA: Record<string, string> = {
  'case-handling': 'sagsbehandling',
  delivery: 'levering af ydelsen',
  audit: 'revision',
};

/** Who read the case: organisation and unit (never a person), when, why, through which system, and the proof. */
export const accessLogSection = (
  lines: readonly LogLine[],
  erased?: { readonly before: string } | undefined,
) => html`<section aria-labelledby="log-h"><h2 id="log-h">Hvem har set sagen</h2>
${
  lines.length === 0
    ? html`<p>Ingen har læst sagens aftaler eller dokumenter gennem Tillid endnu.</p>`
    : html`<table class="access-log"><thead><tr><th scope="col">Tidspunkt</th><th scope="col">Læst</th><th scope="col">Organisation</th><th scope="col">Enhed</th><th scope="col">Formål</th><th scope="col">System</th><th scope="col">Bevis</th></tr></thead><tbody>
${lines.map(
  (
    l,
  ) => html`<tr><td>${l.entry.at.slice(0, 19).replace('T', ' ')} UTC</td><td>${l.entry.what === 'document' ? 'et dokument' : 'en aftale'}</td><td>${l.organisation ? `${l.organisation} (CVR ${l.entry.cvr})` : `CVR ${l.entry.cvr}`}</td><td>${l.entry.unit ?? 'ikke oplyst'}</td><td>${word(PURPOSE_DA, l.entry.purpose)}</td><td>${l.entry.system === 'console' ? 'Tillids konsol' : l.entry.system}</td>
<td>${l.verified ? html`Bekræftet: indgår i logrod ${l.verified.root.slice(0, 12)}…, forankret i blok ${l.verified.height}` : 'Afventer forankring'}</td></tr>`,
)}</tbody></table>`
}
${erased ? html`<p class="hint">Registreringer fra før ${erased.before.slice(0, 10)} er slettet efter kommunens opbevaringsperiode. De forankrede rødder står stadig i kæden, så de viste registreringer kan stadig efterprøves.</p>` : ''}
<p class="hint">Hver læsning af sagens aftaler og dokumenter registreres. Registreringerne samles i et Merkle-træ, hvis rod forankres i Tillids fælles kæde; her efterprøves for hver registrering, at den indgår i en forankret rod.</p></section>`;

export const CITIZEN_BASE = '/borger';

/** Service codes of the templates' line items, in words a citizen uses; unknown codes shown as they are. */
const SERVICE_DA: Record<string, string> = {
  ophold: 'ophold på botilbud',
  residence: 'ophold på botilbud',
  taxi: 'taxakørsel',
  skole: 'skolestøtte',
  school: 'skolestøtte',
};

const header = (
  s?: Session<Citizen>,
) => html`<p class="brand"><a href="${CITIZEN_BASE}/">Tillid · Mine ydelser</a></p>
${
  s
    ? html`<nav aria-label="Borger"><a href="${CITIZEN_BASE}/">Mine ydelser</a></nav>
<form method="post" action="${CITIZEN_BASE}/logout">${csrfField(s)}<button type="submit">Log ud</button></form>`
    : ''
}`;

export const citizenLayout = (title: string, body: SafeHtml, s?: Session<Citizen>) =>
  layout({ title, body, header: header(s) });

export const citizenLoginPage = (message?: string) =>
  citizenLayout(
    'Mine ydelser',
    html`${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<p>Her kan du se de ydelser, kommunen har aftalt for dig eller for et barn, du har forældremyndighed over: hvad, hvornår, hvem der leverer, og om det kører som aftalt.</p>
<p><a class="button" href="${CITIZEN_BASE}/login">Log ind med MitID</a></p>
<p class="hint">Dit CPR-nummer bruges kun af kommunens sagssystem til at finde dine sager. Det gemmes ikke her og sendes ikke videre.</p>`,
  );

const whose = (subject: CaseSubject) =>
  subject.kind === 'self' ? 'Dine egne ydelser' : `Ydelser for ${subject.firstName}`;

/** Whether a service runs as agreed, in a sentence. */
function asAgreed(c: CitizenService['contract']): string {
  if (c.status === 'suspended') return 'Nej: ydelsen er sat i bero.';
  if (c.status === 'terminated' || c.status === 'expired') return 'Ydelsen er afsluttet.';
  const overdue = c.reportDuties.find((d) => d.status === 'overdue');
  if (overdue) return `Nej: leverandørens statusrapport (forfald ${overdue.due}) mangler.`;
  return 'Ja.';
}

/** What a service is, in words: its line items. */
export const serviceWords = ({ contract: c }: CitizenService) =>
  c.terms.items.map((i) => word(SERVICE_DA, i.code)).join(', ');

function serviceRow(x: CitizenService): SafeHtml {
  const { contract: c, providerName } = x;
  const next = c.reportDuties.find((d) => d.status !== 'received');
  const what = serviceWords(x);
  return html`<tr data-contract="${c.id}"><th scope="row">${what}</th><td>${c.start}</td><td>${endOf(c) ?? 'indtil videre'}</td>
<td>${providerName ? html`${providerName} (CVR ${c.provider})` : html`CVR ${c.provider}`}</td><td>${word(STATUS_DA, c.status)}</td>
<td>${next ? next.due : 'ingen'}</td><td>${asAgreed(c)}</td></tr>`;
}

export const servicesTable = (services: readonly CitizenService[]) =>
  services.length === 0
    ? html`<p>Der er ingen aftalte ydelser i denne sag endnu.</p>`
    : html`<table><thead><tr><th scope="col">Ydelse</th><th scope="col">Fra</th><th scope="col">Til</th><th scope="col">Leverandør</th><th scope="col">Status</th><th scope="col">Næste statusrapport</th><th scope="col">Kører som aftalt</th></tr></thead>
<tbody>${services.map(serviceRow)}</tbody></table>`;

export function citizenHomePage(
  s: Session<Citizen>,
  cases: readonly CitizenCaseView[],
  services: ReadonlyMap<string, readonly CitizenService[]>,
  more: SafeHtml,
) {
  return citizenLayout(
    'Mine ydelser',
    html`${cases.length === 0 ? html`<p>Kommunen har ingen sager om dig eller dine børn.</p>` : ''}
${cases.map(
  (
    x,
    i,
  ) => html`<section class="case" aria-labelledby="c${i}"><h2 id="c${i}"><a href="${CITIZEN_BASE}/sager/${x.ref}">${whose(x.subject)}</a></h2>
${servicesTable(services.get(x.ref) ?? [])}</section>`,
)}
<p class="hint">Beløb mellem kommunen og leverandøren vises ikke her. Spørg din sagsbehandler, hvis du vil have aktindsigt.</p>
${more}`,
    s,
  );
}

export const citizenCasePage = (
  s: Session<Citizen>,
  c: CitizenCaseView,
  services: readonly CitizenService[],
  log: readonly LogLine[],
  erased: { readonly before: string } | undefined,
  more: SafeHtml,
) =>
  citizenLayout(
    whose(c.subject),
    html`${servicesTable(services)}${accessLogSection(log, erased)}${more}<p><a href="${CITIZEN_BASE}/">Tilbage til Mine ydelser</a></p>`,
    s,
  );

/** A case shared with the person by a grant: its services, read only, until the grant's last day. */
export const grantedCasePage = (s: Session<Citizen>, until: string, services: readonly CitizenService[]) =>
  citizenLayout(
    'Sag delt med dig',
    html`<p>Du har fuldmagt til at se ydelserne i denne sag til og med ${until}.</p>${servicesTable(services)}<p><a href="${CITIZEN_BASE}/">Tilbage til forsiden</a></p>`,
    s,
  );
