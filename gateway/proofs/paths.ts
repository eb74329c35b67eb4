/**
 * Which node reads the gateway proves: the node paths that take `?proof=true`, mapped to the read
 * they stand for (node/state/commitment/reads.ts). Paths not listed here (status, blocks, the
 * authority schedule) are taken as the node serves them.
 */
import type { ReadSpec } from '../../node/state/commitment/reads.ts';

const HASH = '([0-9a-f]{64})';

export function provableRead(path: string): ReadSpec | undefined {
  const url = new URL(path, 'http://node');
  const at = (pattern: RegExp): string | undefined => pattern.exec(url.pathname)?.[1];
  const contract = at(new RegExp(`^/v1/contracts/${HASH}$`));
  if (contract) return { kind: 'contract', id: contract };
  const cvr = at(/^\/v1\/parties\/(\d{8})$/);
  if (cvr) return { kind: 'party', cvr };
  const anchor = at(new RegExp(`^/v1/anchors/${HASH}$`));
  if (anchor) return { kind: 'anchor', hash: anchor };
  const height = at(/^\/v1\/blocks\/(\d{1,15})\/receipts$/);
  if (height) return { kind: 'receipts', height: Number(height) };
  const party = url.searchParams.get('party');
  const month = url.searchParams.get('month');
  if (url.pathname === '/v1/contracts' && party) return { kind: 'contracts', party };
  if (url.pathname === '/v1/reports' && party) return { kind: 'reports', party };
  if (url.pathname === '/v1/payments') {
    const municipality = url.searchParams.get('municipality');
    if (party && month) return { kind: 'partyPayments', party, month };
    if (municipality && month) return { kind: 'payments', municipality, month };
  }
  return undefined;
}

/** `path` with `proof=true` added to its query. */
export const withProof = (path: string): string => `${path}${path.includes('?') ? '&' : '?'}proof=true`;
