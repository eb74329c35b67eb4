/**
 * Anchors through a containerised network, and what every container suite checks about the chain:
 * submitted transactions become final everywhere, and no two nodes hold different blocks.
 */
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../node/protocol/signature.ts';
import { anchorTx } from '../helpers.ts';
import { type Cluster, waitUntil } from './cluster.ts';

const signer = generateKeyPair();
let sequence = 0;

/** Submits `count` anchors to node `id`; returns their hashes (all must be accepted). */
export async function submit(c: Cluster, id: string, count: number): Promise<string[]> {
  // A ref with few digits: a random UUID now and then contains a run that the PII guard reads as
  // a CPR number (PII_REJECTED).
  const transactions = Array.from({ length: count }, () =>
    anchorTx(signer, c.chainId, {
      expiresAt: Date.now() + 30 * 60_000,
      ref: `urn:tillid-it:tx-${++sequence}`,
    }),
  );
  const body = await c.post(id, '/v1/transactions/batch', { transactions });
  const hashes = (body.results as { hash?: string; code?: string }[]).map((r) => {
    assert.ok(r.hash, `${id} refused a transaction: ${JSON.stringify(r)}`);
    return r.hash as string;
  });
  assert.equal(hashes.length, count);
  return hashes;
}

/** Waits until every hash reads `finalized` on every node in `ids`. */
export async function waitFinalized(
  c: Cluster,
  hashes: readonly string[],
  ids: readonly string[],
): Promise<void> {
  for (const id of ids) {
    await waitUntil(
      async () => {
        const states = await Promise.all(hashes.map((h) => c.get(id, `/v1/transactions/${h}`)));
        return states.every((s) => s?.status === 'finalized') || undefined;
      },
      60_000,
      `${hashes.length} transactions to be final on ${id}`,
      500,
    );
  }
}

/** The block at `height` on every node in `ids` is one block: same hash, same state root. */
export async function assertSameBlock(c: Cluster, height: number, ids: readonly string[]): Promise<void> {
  const blocks = await Promise.all(ids.map((id) => c.get(id, `/v1/blocks/${height}`)));
  const seen = blocks.map((b, i) => `${ids[i]}: ${b?.certificate?.blockHash} ${b?.header?.stateRoot}`);
  assert.ok(
    blocks.every((b) => b?.certificate?.blockHash),
    `height ${height} not final everywhere:\n${seen.join('\n')}`,
  );
  assert.equal(new Set(blocks.map((b) => b.certificate.blockHash)).size, 1, seen.join('\n'));
  assert.equal(new Set(blocks.map((b) => b.header.stateRoot)).size, 1, seen.join('\n'));
}

/** No two nodes hold different finalized blocks at any height in [from, to]. */
export async function assertNoConflicts(
  c: Cluster,
  ids: readonly string[],
  from: number,
  to: number,
): Promise<void> {
  for (let h = Math.max(1, from); h <= to; h++) {
    const blocks = await Promise.all(ids.map((id) => c.get(id, `/v1/blocks/${h}`)));
    const hashes = new Set(blocks.filter((b) => b).map((b) => b.certificate.blockHash));
    assert.ok(hashes.size <= 1, `conflicting finalized blocks at height ${h}: ${[...hashes].join(', ')}`);
  }
}
