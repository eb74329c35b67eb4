/**
 * The operator's view of the network (first cut): the block the gateway last verified, and each
 * node serving the person's organisation with its health as the gateway sees it and what the node
 * reports itself — height, finalized height, peers, software and protocol version.
 */
import { html } from '../html.ts';
import type { Session } from '../session.ts';
import { layout } from './layout.ts';

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
}

export interface NetworkView {
  readonly chainId: string;
  readonly head: { readonly height: number; readonly timestamp: number; readonly signatures: number };
  readonly nodes: readonly NodeRow[];
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
</tbody></table>`,
  });
