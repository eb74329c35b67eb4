/** The access log's Merkle inclusion proofs against the chain's own root (node/protocol/merkle.ts). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type AccessEntry, leafOf } from '../../../gateway/access-log/log.ts';
import { inclusionProof, rootOf } from '../../../gateway/access-log/merkle-proof.ts';
import { merkleRoot } from '../../../node/protocol/merkle.ts';

const leaf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest('hex');

test('every leaf of trees of 1 to 17 leaves proves into the chain’s root; a changed leaf or proof does not', () => {
  for (let n = 1; n <= 17; n++) {
    const leaves = Array.from({ length: n }, (_, i) => leaf(i));
    const root = merkleRoot(leaves);
    for (let i = 0; i < n; i++) {
      const proof = inclusionProof(leaves, i);
      assert.equal(rootOf(leaves[i] as string, proof), root, `leaf ${i} of ${n}`);
      assert.notEqual(rootOf(leaf(100), proof), root);
      if (proof.length > 0)
        assert.notEqual(
          rootOf(leaves[i] as string, [
            { ...(proof[0] as (typeof proof)[0]), hash: leaf(101) },
            ...proof.slice(1),
          ]),
          root,
        );
    }
  }
});

test('an access entry’s leaf changes with any of its fields', () => {
  const e: AccessEntry = {
    seq: 1,
    caseRef: 'a'.repeat(64),
    municipality: '29189846',
    cvr: '29189846',
    unit: 'Familieafdelingen',
    at: '2026-11-30T12:00:00.000Z',
    purpose: 'case-handling',
    system: 'console',
  };
  const base = leafOf(e);
  for (const changed of [
    { seq: 2 },
    { unit: 'Andet' },
    { purpose: 'audit' },
    { system: 'esdh' },
    { cvr: '12345678' },
  ])
    assert.notEqual(leafOf({ ...e, ...changed }), base);
});
