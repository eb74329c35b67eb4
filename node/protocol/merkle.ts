/**
 * Binary Merkle root over a list of 32-byte hashes, with RFC 6962 domain separation (0x00 for
 * leaves, 0x01 for inner nodes) so a leaf can never be passed off as an inner node. An odd node at
 * the end of a level is promoted unchanged, as in RFC 6962's unbalanced trees.
 */
import { hash } from 'node:crypto';
import { fromHex, type Hex, sha256Hex } from './hash.ts';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function merkleRoot(leaves: readonly Hex[]): Hex {
  if (leaves.length === 0) return sha256Hex(new Uint8Array(0));
  let level: Buffer[] = leaves.map((h) => hash('sha256', Buffer.concat([LEAF, fromHex(h)]), 'buffer'));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      const left = level[i] as Buffer;
      next.push(right ? hash('sha256', Buffer.concat([NODE, left, right]), 'buffer') : left);
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}
