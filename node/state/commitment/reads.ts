/**
 * The reads a municipality acts on, as pure functions of (state, height context): the same function
 * answers the node's API and re-derives the answer from proven state entries in a verifier, so a
 * proven read proves the whole answer, not just the keys behind it.
 */
import type { Json } from '../../protocol/canonical.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { businessDay, clockOf } from '../contracts/calendar.ts';
import {
  contractSummaries,
  contractView,
  eventsAfter,
  partyView,
  paymentsFor,
  paymentsOf,
  reportsOf,
} from '../contracts/read-models.ts';
import type { Receipt } from '../machine.ts';
import { receiptKey } from '../machine.ts';
import type { StateReader } from '../module.ts';
import { anchorKey } from '../modules/anchor.ts';

export type ReadSpec =
  | { readonly kind: 'contract'; readonly id: Hex }
  | { readonly kind: 'party'; readonly cvr: string }
  /** The list views of one party: its contracts, its due and overdue reports, the payments it sees. */
  | { readonly kind: 'contracts'; readonly party: string }
  | { readonly kind: 'reports'; readonly party: string }
  | { readonly kind: 'partyPayments'; readonly party: string; readonly month: string }
  | { readonly kind: 'payments'; readonly municipality: string; readonly month: string }
  | { readonly kind: 'events'; readonly after: number; readonly limit: number }
  | { readonly kind: 'anchor'; readonly hash: Hex }
  | { readonly kind: 'receipts'; readonly height: number };

/**
 * A proven event page scans at most this many heights (the plain API scans 10,000): every height
 * scanned is one proven key, and `next` lets the reader continue.
 */
export const PROVEN_EVENT_HEIGHTS = 256;

export interface ReadContext {
  readonly genesis: Genesis;
  /** The header the read is proven at. */
  readonly height: number;
  readonly timestamp: number;
  /** For `receipts`: the block's transaction hashes, in block order (checked against its txRoot). */
  readonly transactions?: readonly Hex[];
}

/** The answer to `spec` at the given height, or `null` when there is nothing (a 404 in the API). */
export function evaluateRead(spec: ReadSpec, state: StateReader, ctx: ReadContext): Json {
  const orNull = (v: unknown): Json => (v === undefined ? null : (v as Json));
  switch (spec.kind) {
    case 'contract':
      return orNull(contractView(state, spec.id, businessDay(clockOf(ctx.genesis), ctx)));
    case 'party':
      return orNull(partyView(state, spec.cvr));
    case 'payments':
      return { decisions: paymentsOf(state, spec.municipality, spec.month) as Json[] };
    // The lists are derived from the party's index (`byPartyKey`): its length proves none is left out.
    case 'contracts':
      return { contracts: contractSummaries(state, spec.party) as unknown as Json[] };
    case 'reports':
      return { reports: reportsOf(state, spec.party) as unknown as Json[] };
    case 'partyPayments':
      return { decisions: paymentsFor(state, spec.party, spec.month) as Json[] };
    case 'events': {
      const page = eventsAfter(state, spec.after, ctx.height, spec.limit, PROVEN_EVENT_HEIGHTS);
      return { ...page, head: ctx.height } as unknown as Json;
    }
    case 'anchor':
      return orNull(state.get(anchorKey(spec.hash)));
    case 'receipts': {
      const receipts = (ctx.transactions ?? []).map((hash, index) => {
        const r = state.get(receiptKey(hash)) as unknown as Receipt | undefined;
        if (r?.height !== spec.height || r.index !== index)
          throw new Error(`no receipt at ${spec.height}/${index} for transaction ${hash}`);
        return r.message === undefined
          ? { hash, index, code: r.code }
          : { hash, index, code: r.code, message: r.message };
      });
      return { height: spec.height, receipts } as unknown as Json;
    }
  }
}

const CVR = /^\d{8}$/;
const HASH = /^[0-9a-f]{64}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Checks the shape of a read spec from a file or a request; returns why it is invalid. */
export function readSpecProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return 'read is not an object';
  const r = input as Record<string, unknown>;
  const fields = (...names: string[]) =>
    Object.keys(r).every((k) => k === 'kind' || names.includes(k)) && names.every((n) => n in r);
  const height = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  switch (r.kind) {
    case 'contract':
      return fields('id') && HASH.test(String(r.id)) ? undefined : 'contract read needs id';
    case 'party':
      return fields('cvr') && CVR.test(String(r.cvr)) ? undefined : 'party read needs cvr';
    case 'contracts':
    case 'reports':
      return fields('party') && CVR.test(String(r.party)) ? undefined : `${r.kind} read needs party`;
    case 'partyPayments':
      return fields('party', 'month') && CVR.test(String(r.party)) && MONTH.test(String(r.month))
        ? undefined
        : 'partyPayments read needs party and month';
    case 'payments':
      return fields('municipality', 'month') &&
        CVR.test(String(r.municipality)) &&
        MONTH.test(String(r.month))
        ? undefined
        : 'payments read needs municipality and month';
    case 'events':
      return fields('after', 'limit') && height(r.after) && height(r.limit) && (r.limit as number) >= 1
        ? undefined
        : 'events read needs after and limit';
    case 'anchor':
      return fields('hash') && HASH.test(String(r.hash)) ? undefined : 'anchor read needs hash';
    case 'receipts':
      return fields('height') && height(r.height) && (r.height as number) >= 1
        ? undefined
        : 'receipts read needs height';
    default:
      return 'unknown read kind';
  }
}
