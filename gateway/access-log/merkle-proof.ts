/**
 * Inclusion proofs for the chain's Merkle tree (node/protocol/merkle.ts: RFC 6962 domain
 * separation, an odd node at the end of a level promoted unchanged). A proof is the sibling at
 * each level where there is one; `rootOf` recomputes the root from a leaf and its proof, so a
 * citizen's view can check that an access-log entry is in an anchored root.
 */
import { hash } from 'node:crypto';
import { fromHex, type Hex } from '../../node/protocol/hash.ts';

export interface ProofStep {
  /** Which side the sibling is on. */
  readonly side: 'left' | 'right';
  readonly hash: Hex;
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
const leafNode = (h: Hex) => hash('sha256', Buffer.concat([LEAF, fromHex(h)]), 'buffer');
const inner = (l: Uint8Array, r: Uint8Array) => hash('sha256', Buffer.concat([NODE, l, r]), 'buffer');

/** The proof that `leaves[index]` is in `merkleRoot(leaves)`. */
export function inclusionProof(leaves: readonly Hex[], index: number): ProofStep[] {
  if (index < 0 || index >= leaves.length) throw new RangeError('no such leaf');
  const steps: ProofStep[] = [];
  let level: Buffer[] = leaves.map(leafNode);
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 0 ? level[i + 1] : level[i - 1];
    if (sibling) steps.push({ side: i % 2 === 0 ? 'right' : 'left', hash: sibling.toString('hex') });
    const next: Buffer[] = [];
    for (let j = 0; j < level.length; j += 2) {
      const r = level[j + 1];
      next.push(r ? inner(level[j] as Buffer, r) : (level[j] as Buffer));
    }
    level = next;
    i = Math.floor(i / 2);
  }
  return steps;
}

/** The root a leaf and its proof lead to. */
export function rootOf(leaf: Hex, proof: readonly ProofStep[]): Hex {
  let node = leafNode(leaf);
  for (const s of proof)
    node = s.side === 'right' ? inner(node, fromHex(s.hash)) : inner(fromHex(s.hash), node);
  return node.toString('hex');
}
