/**
 * The node's event feed, read from outside: `GET <node>/v1/events?after=<height>&limit=<n>` returns
 * `{ events, next, head }`, events of finalized heights after `after`, oldest first; a page never
 * splits a height, and `next` is the height to continue after. Event ids are `<height>-<n>` and
 * stable, which is how every delivery channel recognises a duplicate.
 */

import { type NodeFetch, nodeFetch } from '../node-fetch.ts';
import type { ProofChecker, ProvenAt } from '../proofs/checker.ts';

/** A finalized chain event as the node serves it (node/state/events.ts). */
export interface ChainEvent {
  readonly id: string;
  readonly height: number;
  readonly type: string;
  readonly contract?: string;
  readonly municipality?: string;
  readonly provider?: string;
  readonly kle?: string;
  readonly period?: number;
  readonly amount?: number;
  readonly reason?: string;
  readonly [field: string]: unknown;
}

export interface EventPage {
  readonly events: readonly ChainEvent[];
  /** Continue with `after = next`. */
  readonly next: number;
}

export interface NodeEventFeedOptions {
  /** Node API base URLs, tried in order: the first that answers serves the page. */
  readonly nodeUrls: readonly string[];
  /** Events per page (the node allows 1–1000); default 500. */
  readonly limit?: number;
  readonly timeoutMs?: number;
  /**
   * When given, every page is a proven read checked against the trusted genesis; a page that does
   * not verify is refused like an unreachable node's, and the next node is asked.
   */
  readonly proofs?: ProofChecker;
  /** How node APIs are called (the router's, with the node CA); default plain fetch. */
  readonly fetch?: NodeFetch;
}

/** Where each event of a proven page was proven; the envelope carries it (envelope.ts). */
const provenAtOf = new WeakMap<ChainEvent, ProvenAt>();
export const provenAt = (event: ChainEvent): ProvenAt | undefined => provenAtOf.get(event);

const EVENT_ID = /^(\d{1,15})-(\d{1,9})$/;

export function parseEventId(id: string): { height: number; index: number } | undefined {
  const m = EVENT_ID.exec(id);
  return m ? { height: Number(m[1]), index: Number(m[2]) } : undefined;
}

/** Orders event ids as the chain does: by height, then by position in the block. */
export function compareEventIds(a: string, b: string): number {
  const x = parseEventId(a);
  const y = parseEventId(b);
  if (!x || !y) throw new TypeError(`not an event id: ${x ? b : a}`);
  return x.height - y.height || x.index - y.index;
}

export class NodeEventFeed {
  readonly nodeUrls: readonly string[];
  readonly #limit: number;
  readonly #timeoutMs: number;
  readonly #proofs: ProofChecker | undefined;
  readonly #fetch: NodeFetch;

  constructor(options: NodeEventFeedOptions) {
    this.#fetch = options.fetch ?? nodeFetch();
    if (options.nodeUrls.length === 0) throw new Error('the event feed needs at least one node URL');
    this.nodeUrls = options.nodeUrls.map((u) => u.replace(/\/+$/, ''));
    this.#limit = options.limit ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#proofs = options.proofs;
  }

  /** One page of finalized events after `after`. Throws when no node answers with a valid page. */
  async page(after: number, limit = this.#limit): Promise<EventPage> {
    const proofs = this.#proofs;
    if (!proofs)
      return this.#fromAnyNode(`/v1/events?after=${after}&limit=${limit}`, (body) => checkPage(body, after));
    const spec = { kind: 'events', after, limit } as const;
    return this.#fromAnyNode(`/v1/events?after=${after}&limit=${limit}&proof=true`, (body, base) => {
      const proven = proofs.check(base, spec, body);
      if (typeof proven === 'string') throw new Error(`the page does not verify: ${proven}`);
      const page = checkPage(proven.value, after);
      for (const event of page.events) provenAtOf.set(event, proven.provenAt);
      return page;
    });
  }

  /** The node's finalized height: where a subscriber that wants only new events starts. */
  async finalizedHeight(): Promise<number> {
    return this.#fromAnyNode('/v1/status', (body) => {
      const status = body as { finalizedHeight?: unknown; height?: unknown };
      const h = status.finalizedHeight ?? status.height;
      if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 0)
        throw new Error('status without a height');
      return h;
    });
  }

  async #fromAnyNode<T>(path: string, check: (body: unknown, base: string) => T): Promise<T> {
    const problems: string[] = [];
    for (const base of this.nodeUrls) {
      try {
        const response = await this.#fetch(`${base}${path}`, {
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return check(await response.json(), base);
      } catch (e) {
        problems.push(`${base}: ${(e as Error).message}`);
      }
    }
    throw new Error(`no node served ${path} (${problems.join('; ')})`);
  }
}

function checkPage(body: unknown, after: number): EventPage {
  const page = body as { events?: unknown; next?: unknown };
  if (!Array.isArray(page.events) || typeof page.next !== 'number' || !Number.isSafeInteger(page.next)) {
    throw new Error('not an event page');
  }
  let previous: string | undefined;
  for (const e of page.events as ChainEvent[]) {
    const id = typeof e?.id === 'string' ? parseEventId(e.id) : undefined;
    if (!id || id.height !== e.height || typeof e.type !== 'string')
      throw new Error('malformed event in page');
    if (id.height <= after || id.height > page.next)
      throw new Error(`event ${e.id} outside the page's heights`);
    if (previous !== undefined && compareEventIds(previous, e.id) >= 0)
      throw new Error('events out of order');
    previous = e.id;
  }
  return { events: page.events as ChainEvent[], next: Math.max(page.next, after) };
}
