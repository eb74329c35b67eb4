/**
 * The auditor's view: whether the chain the gateway reads verifies against the genesis (the
 * verified head and its commit certificate against the authorities in force), a contract's full
 * timeline — who proposed and approved, in which role, at which height — and a document check: a
 * file is compared with a report's or document's on-chain commitment.
 */
import { ACTION_DA, kroner, REASON_DA, ROLE_DA, STATUS_DA, word } from '../danish.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Session } from '../session.ts';
import { BASE, csrfField, layout } from './layout.ts';
import type { ContractSummary, ContractView } from './views.ts';

export interface Verification {
  readonly chainId: string;
  readonly height: number;
  readonly hash: string;
  readonly timestamp: number;
  readonly signatures: number;
  readonly authorities: number;
  readonly genesisAuthorities: number;
  /** Whether the gateway checks the authority schedule against a genesis file it was given. */
  readonly pinnedGenesis: boolean;
}

export interface TimelineEvent {
  readonly id: string;
  readonly height: number;
  readonly type: string;
  readonly [field: string]: unknown;
}

/** An on-chain commitment of the contract an auditor can check a file against. */
export interface Commitment {
  readonly commitment: string;
  readonly label: string;
  readonly height: number;
}

export type CheckVerdict = 'match' | 'mismatch' | 'unknown' | 'erased';

const EVENT_DA: Record<string, string> = {
  'contract.created': 'oprettet',
  'contract.proposed': 'forslag',
  'contract.approved': 'godkendelse',
  'contract.activated': 'aktiveret',
  'contract.amended': 'ændret',
  'contract.suspended': 'sat i bero',
  'contract.resumed': 'genoptaget',
  'contract.terminated': 'ophørt',
  'contract.expired': 'udløbet',
  'contract.reported': 'statusrapport modtaget',
  'contract.document': 'dokument tilknyttet',
  'report.overdue': 'statusrapport forsinket',
  'payment.released': 'udbetaling frigivet',
  'payment.withheld': 'udbetaling tilbageholdt',
};

const VERDICT_DA: Record<CheckVerdict, string> = {
  match: 'Filen svarer til fingeraftrykket på kæden.',
  mismatch: 'Filen svarer IKKE til fingeraftrykket på kæden.',
  unknown:
    'Gatewayen kender ikke dette dokument (det er gemt et andet sted), så filen kan ikke kontrolleres her.',
  erased: 'Dokumentet er slettet; fingeraftrykket kan ikke længere knyttes til indhold.',
};

export function verificationSection(v: Verification): SafeHtml {
  const quorum = Math.floor((2 * v.authorities) / 3) + 1;
  return html`<section aria-labelledby="verif-h"><h2 id="verif-h">Kædens verifikation</h2>
<p class="verified" role="status">Verificeret: blok ${v.height} bærer ${v.signatures} af ${v.authorities} myndigheders underskrifter (mindst ${quorum} kræves) ${
    v.pinnedGenesis
      ? 'og autoritetssættet begynder ved den betroede genesis.'
      : 'mod nodens autoritetssæt (gatewayen har ingen genesis-fil at holde det op imod).'
  }</p>
<dl>
<dt>Kæde</dt><dd><code>${v.chainId}</code></dd>
<dt>Verificeret blok</dt><dd>${v.height} · <code>${v.hash}</code> · ${new Date(v.timestamp).toISOString()}</dd>
<dt>Myndigheder ved genesis</dt><dd>${v.genesisAuthorities}</dd>
<dt>Myndigheder nu</dt><dd>${v.authorities}</dd>
</dl></section>`;
}

export const auditPage = (s: Session, v: Verification, contracts: readonly ContractSummary[]) =>
  layout({
    title: 'Revision',
    session: s,
    body: html`${verificationSection(v)}
<section aria-labelledby="rk-h"><h2 id="rk-h">Kontrakter</h2>
${
  contracts.length === 0
    ? html`<p>Ingen kontrakter.</p>`
    : html`<ul>${contracts.map(
        (c) =>
          html`<li><a href="${BASE}/revision/kontrakter/${c.id}">Kontrakt ${c.id.slice(0, 12)}</a> · leverandør CVR ${c.provider} · ${word(STATUS_DA, c.status)}</li>`,
      )}</ul>`
}</section>`,
  });

function detail(e: TimelineEvent): SafeHtml {
  const parts: (SafeHtml | string)[] = [];
  if (typeof e.action === 'string') parts.push(word(ACTION_DA, e.action));
  if (typeof e.role === 'string')
    parts.push(
      html`af <strong>${ROLE_DA[e.role] ?? e.role}</strong>${typeof e.cvr === 'string' ? ` (CVR ${e.cvr})` : ''}`,
    );
  if (typeof e.actor === 'string') parts.push(html`aktør <code>${e.actor.slice(0, 12)}</code>`);
  if (typeof e.period === 'number') parts.push(`periode ${e.period}`);
  if (typeof e.amount === 'number') parts.push(kroner(e.amount));
  if (typeof e.reason === 'string') parts.push(word(REASON_DA, e.reason));
  if (typeof e.fromPeriod === 'number') parts.push(`fra periode ${e.fromPeriod}`);
  if (typeof e.document === 'string') parts.push(html`fingeraftryk <code>${e.document.slice(0, 16)}</code>`);
  return html`${parts.map((p, i) => html`${i > 0 ? ', ' : ''}${p}`)}`;
}

export function timelineTable(events: readonly TimelineEvent[]): SafeHtml {
  return html`<table class="timeline"><caption>Kontraktens tidslinje</caption><thead><tr><th scope="col">Højde</th><th scope="col">Hændelse</th><th scope="col">Hvem og hvad</th></tr></thead><tbody>
${events.map((e) => html`<tr><td>${e.height}</td><td>${word(EVENT_DA, e.type)}</td><td>${detail(e)}</td></tr>`)}
</tbody></table>`;
}

export function checkForm(s: Session, c: ContractView, commitments: readonly Commitment[]): SafeHtml {
  if (commitments.length === 0)
    return html`<p>Kontrakten har ingen dokumenter eller statusrapporter på kæden.</p>`;
  return html`<form method="post" action="${BASE}/revision/kontrakter/${c.id}/dokument" enctype="multipart/form-data">${csrfField(s)}
<label for="tjek-dok">Dokument på kæden</label>
<select id="tjek-dok" name="commitment">${commitments.map((x) => html`<option value="${x.commitment}">${x.label} (højde ${x.height})</option>`)}</select>
<label for="tjek-fil">Fil at kontrollere</label>
<input id="tjek-fil" name="fil" type="file" required>
<button type="submit">Kontrollér fil</button>
</form>
<p class="hint">Filen gemmes ikke: gatewayen beregner dens saltede fingeraftryk og sammenligner det med kædens.</p>`;
}

export const auditContractPage = (
  s: Session,
  v: Verification,
  c: ContractView & { timeline: readonly TimelineEvent[] },
  commitments: readonly Commitment[],
  result?: { verdict: CheckVerdict; label: string; filename: string },
) =>
  layout({
    title: `Revision af kontrakt ${c.id.slice(0, 12)}`,
    session: s,
    body: html`<p><a href="${BASE}/revision">Til revisionens overblik</a></p>
${
  result
    ? html`<p class="${result.verdict === 'match' ? 'verified' : 'error'}" role="alert" id="tjek-resultat">${result.filename} mod ${result.label}: ${VERDICT_DA[result.verdict]}</p>`
    : ''
}
<p>Kommune CVR ${c.municipality} · leverandør CVR ${c.provider} · ${word(STATUS_DA, c.status)} · verificeret til blok ${v.height}.</p>
<section aria-labelledby="tjek-h"><h2 id="tjek-h">Kontrollér et dokument</h2>
${checkForm(s, c, commitments)}</section>
<section aria-labelledby="tl-h"><h2 id="tl-h">Tidslinje</h2>
${timelineTable(c.timeline)}</section>`,
  });
