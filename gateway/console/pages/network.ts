/**
 * The operator's view of the network: the block the gateway last verified; each node serving the
 * person's organisation with its health as the gateway sees it, what the node reports itself
 * (height, finalized height, peers, software and protocol version) and its fault counters from
 * /metrics (round changes, missed proposals, rejected blocks, equivocations); the authority set
 * by height (each membership change decided by vote); and one membership proposal with its votes.
 */
import type { LogLine } from '../../log-ring.ts';
import { html, type SafeHtml } from '../html.ts';
import type { Session } from '../session.ts';
import { BASE, layout } from './layout.ts';

/** The node's counters the page shows, by Prometheus name (summed over labels). */
export const NODE_COUNTERS = {
  tillid_consensus_round_changes_total: 'Rundeskift',
  tillid_consensus_missed_proposals_total: 'Manglende forslag',
  tillid_sync_blocks_rejected_total: 'Afviste blokke',
  tillid_equivocations_total: 'Dobbeltstemmer',
} as const;
export type CounterName = keyof typeof NODE_COUNTERS;

export interface NodeRow {
  readonly url: string;
  readonly healthy: boolean;
  readonly reason?: string;
  readonly status?: {
    readonly height?: number;
    readonly finalizedHeight?: number;
    readonly peers?: readonly string[];
    readonly softwareVersion?: string;
    readonly protocolVersion?: unknown;
  };
  readonly counters?: Partial<Record<CounterName, number>>;
}

export interface AuthorityView {
  readonly name: string;
  readonly cvr: string;
  readonly publicKey: string;
}

export interface ProposalView {
  readonly id: string;
  readonly action: string;
  readonly authority: AuthorityView;
  readonly proposer: string;
  readonly proposedAt: number;
  readonly expiresAt: number;
  readonly votes: readonly string[];
  readonly status: string;
  readonly effectiveFrom?: number;
}

export interface NetworkView {
  readonly chainId: string;
  readonly head: { readonly height: number; readonly timestamp: number; readonly signatures: number };
  readonly nodes: readonly NodeRow[];
  readonly schedule: readonly {
    readonly fromHeight: number;
    readonly authorities: readonly AuthorityView[];
  }[];
  /** The proposal asked for (`?forslag=`), or null when no node knows it. */
  readonly proposal?: ProposalView | null;
  /** The proposals open at the head; absent when the node does not list them. */
  readonly openProposals?: readonly ProposalView[];
  /** The gateway's recent warnings and errors the person may see; undefined when it keeps none. */
  readonly log?: readonly LogLine[] | undefined;
}

/**
 * Sums each named counter over its label sets in a Prometheus text exposition; counters the text
 * does not carry stay absent (shown empty, not as 0).
 */
export function countersOf(text: string): Partial<Record<CounterName, number>> {
  const out: Partial<Record<CounterName, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || !Object.hasOwn(NODE_COUNTERS, m[1] as string)) continue;
    const name = m[1] as CounterName;
    out[name] = (out[name] ?? 0) + Number(m[2]);
  }
  return out;
}

const ACTION_DA: Record<string, string> = { add: 'optag', remove: 'fjern' };

/** An authority by its key, as the schedule names it. */
const namer = (n: NetworkView) => (key: string) => {
  const a = n.schedule.flatMap((e) => e.authorities).find((x) => x.publicKey === key);
  return a ? `${a.name} (CVR ${a.cvr})` : `${key.slice(0, 16)}…`;
};
/** Votes count against the authorities in force at the head (the chain counts them at each vote). */
const membersNow = (n: NetworkView) =>
  n.schedule.filter((e) => e.fromHeight <= n.head.height).at(-1)?.authorities ?? [];

function openProposalsSection(n: NetworkView): SafeHtml {
  const list = n.openProposals;
  const nameOf = namer(n);
  const members = membersNow(n).length;
  return html`<section aria-labelledby="aabne-h"><h2 id="aabne-h">Åbne medlemskabsforslag</h2>
${
  list === undefined
    ? html`<p>Noden oplyser ikke sine åbne forslag (en ældre version); slå et forslag op med dets hash nedenfor.</p>`
    : list.length === 0
      ? html`<p>Ingen åbne forslag.</p>`
      : html`<table class="open-proposals"><caption>Forslag, der venter på stemmer</caption><thead><tr><th scope="col">Forslag</th><th scope="col">Stillet af</th><th scope="col">Åben til højde</th><th scope="col">Stemmer</th><th scope="col">Mangler</th></tr></thead><tbody>
${list.map((p) => {
  // More than two thirds of the authorities in force must vote for it.
  const needed = Math.floor((2 * members) / 3) + 1;
  return html`<tr><td><a href="${BASE}/netvaerk?forslag=${p.id}">${ACTION_DA[p.action] ?? p.action} ${p.authority.name} (CVR ${p.authority.cvr})</a></td><td>${nameOf(p.proposer)} ved højde ${p.proposedAt}</td><td>${p.expiresAt}</td><td>${p.votes.length} af ${members}: ${p.votes.map((v, i) => html`${i > 0 ? '; ' : ''}${nameOf(v)}`)}</td><td>${Math.max(0, needed - p.votes.length)} stemme(r)</td></tr>`;
})}
</tbody></table>`
}</section>`;
}

const LEVEL_DA: Record<LogLine['level'], string> = { warn: 'advarsel', error: 'fejl', fatal: 'fatal fejl' };

function logSection(n: NetworkView): SafeHtml {
  return html`<section aria-labelledby="log-h"><h2 id="log-h">Gatewayens seneste advarsler og fejl</h2>
${
  n.log === undefined
    ? html`<p>Gatewayen gemmer ikke sine advarsler til konsollen (den er startet med en logger udefra).</p>`
    : n.log.length === 0
      ? html`<p>Ingen advarsler eller fejl siden gatewayen startede.</p>`
      : html`<table class="log"><caption>Nyeste først (højst de seneste 200 linjer; uden personoplysninger)</caption><thead><tr><th scope="col">Tid</th><th scope="col">Niveau</th><th scope="col">Del</th><th scope="col">Besked</th><th scope="col">Node</th></tr></thead><tbody>
${n.log.map((l) => html`<tr><td>${l.time}</td><td>${LEVEL_DA[l.level]}</td><td>${l.component ?? ''}</td><td>${l.message}${l.code ? html` <code>${l.code}</code>` : ''}</td><td>${l.node ?? ''}</td></tr>`)}
</tbody></table>`
}
<p class="hint">Nodernes egne fejl ses i fejltællerne ovenfor og i nodernes egen log; nodens API har ingen adgangskontrol, så dens loglinjer udstilles ikke.</p></section>`;
}

function proposalSection(n: NetworkView): SafeHtml {
  const p = n.proposal;
  // Votes count against the authorities in force when it was proposed.
  const members = p ? (n.schedule.filter((e) => e.fromHeight <= p.proposedAt).at(-1)?.authorities ?? []) : [];
  const nameOf = namer(n);
  return html`<section aria-labelledby="forslag-h"><h2 id="forslag-h">Slå et medlemskabsforslag op</h2>
<form method="get" action="${BASE}/netvaerk">
<label for="forslag">Forslagets transaktions-hash</label>
<input id="forslag" name="forslag" required pattern="[0-9a-f]{64}" maxlength="64" autocomplete="off">
<button type="submit">Vis forslag</button>
</form>
${
  p === null
    ? html`<p class="error" role="alert">Ingen node kender et forslag med den hash.</p>`
    : p
      ? html`<dl class="proposal">
<dt>Forslag</dt><dd>${ACTION_DA[p.action] ?? p.action} ${p.authority.name} (CVR ${p.authority.cvr})</dd>
<dt>Status</dt><dd>${p.status === 'approved' ? html`vedtaget, gælder fra højde ${p.effectiveFrom ?? ''}` : `åben til højde ${p.expiresAt}`}</dd>
<dt>Stillet af</dt><dd>${nameOf(p.proposer)} ved højde ${p.proposedAt}</dd>
<dt>Stemmer (${p.votes.length} af ${members.length}; over to tredjedele kræves)</dt><dd><ul>${p.votes.map((v) => html`<li>${nameOf(v)}</li>`)}</ul></dd>
</dl>`
      : ''
}</section>`;
}

export const networkPage = (s: Session, n: NetworkView) =>
  layout({
    title: 'Netværket',
    session: s,
    live: 'network',
    body: html`<p>Kæde <code>${n.chainId}</code>. Senest verificerede blok: højde ${n.head.height}, ${new Date(n.head.timestamp).toISOString()}, ${n.head.signatures} underskrifter i commit-certifikatet.</p>
<table><caption>Noder for din organisation</caption><thead><tr><th scope="col">Node</th><th scope="col">Tilstand</th><th scope="col">Højde</th><th scope="col">Endelig</th><th scope="col">Peers</th><th scope="col">Version</th><th scope="col">Protokol</th></tr></thead><tbody>
${n.nodes.map(
  (r) =>
    html`<tr><td>${r.url}</td><td>${r.healthy ? 'oppe' : html`nede${r.reason ? html` (${r.reason})` : ''}`}</td><td>${r.status?.height ?? ''}</td><td>${r.status?.finalizedHeight ?? ''}</td><td>${r.status?.peers?.length ?? ''}</td><td>${r.status?.softwareVersion ?? ''}</td><td>${typeof r.status?.protocolVersion === 'number' ? r.status.protocolVersion : ''}</td></tr>`,
)}
</tbody></table>
<table class="counters"><caption>Fejltællere pr. node</caption><thead><tr><th scope="col">Node</th>${Object.values(NODE_COUNTERS).map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>
${n.nodes.map((r) => html`<tr><td>${r.url}</td>${(Object.keys(NODE_COUNTERS) as CounterName[]).map((k) => html`<td>${r.counters?.[k] ?? ''}</td>`)}</tr>`)}
</tbody></table>
<p class="hint">Fejltællerne er nodens egne (fra dens /metrics) siden den startede.</p>
<table><caption>Myndigheder fra højde (medlemskab besluttes ved afstemning)</caption><thead><tr><th scope="col">Fra højde</th><th scope="col">Myndigheder</th></tr></thead><tbody>
${n.schedule.map((e) => html`<tr><td>${e.fromHeight}</td><td>${e.authorities.map((a, i) => html`${i > 0 ? '; ' : ''}${a.name} (CVR ${a.cvr})`)}</td></tr>`)}
</tbody></table>
${openProposalsSection(n)}
${proposalSection(n)}
${logSection(n)}`,
  });
