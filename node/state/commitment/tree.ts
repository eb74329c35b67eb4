/**
 * The state commitment: a sparse Merkle tree over SHA-256 of each state key, with single-leaf
 * subtrees collapsed into their leaf (as in Diem's Jellyfish tree), so a tree of n keys is about
 * log2(n) deep and proves both the presence and the absence of any key. Consensus-critical: the
 * definition is in the README ("State commitment") and pinned by test vectors.
 *
 *   keyHash   = SHA-256(UTF-8 key)                     bit i of keyHash picks the child at depth i
 *   valueHash = SHA-256(JCS value)                     (most significant bit of byte 0 first; 0 = left)
 *   empty     = 32 zero bytes
 *   leaf      = SHA-256(0x00 || keyHash || valueHash)  a subtree holding exactly one key
 *   internal  = SHA-256(0x01 || left || right)         a subtree holding two keys or more
 *
 * Nodes are content-addressed (stored under their hash and never changed), so every past root stays
 * readable and a proof built from a root is consistent however the head moves meanwhile. Pure: the
 * caller gives a node reader and stores the nodes an update creates.
 */
import { hash } from 'node:crypto';
import type { Json } from '../../protocol/canonical.ts';
import { canonicalBytes } from '../../protocol/canonical.ts';
import { type Hex, ZERO_HASH } from '../../protocol/hash.ts';

export const EMPTY_ROOT: Hex = ZERO_HASH;

/**
 * A stored node: 65 bytes, `0x00 || keyHash || valueHash` (leaf) or `0x01 || left || right`
 * (internal) — exactly what its hash is taken over, so a node's hash is SHA-256 of its encoding
 * and nothing is converted between hashing, storing and reading.
 */
export type EncodedNode = Uint8Array;

export interface TreeNodeReader {
  /** The node with this hash, or `undefined` when the store does not hold it. */
  treeNode(hash: Hex): EncodedNode | undefined;
}

export const keyHashOf = (key: string): Hex => hash('sha256', Buffer.from(key, 'utf8'), 'hex');
export const valueHashOf = (value: Json): Hex => hash('sha256', canonicalBytes(value), 'hex');

const LEAF = 0;
const INTERNAL = 1;

function encode(tag: number, a: Uint8Array, b: Uint8Array): Buffer {
  const node = Buffer.allocUnsafe(65);
  node[0] = tag;
  node.set(a, 1);
  node.set(b, 33);
  return node;
}
// Through hex: `hash(…, 'buffer')` measured about four times the cost of `hash(…, 'hex')` plus the
// decoding (Node 24), and a block hashes two per write.
const sha256 = (bytes: Uint8Array): Buffer => Buffer.from(hash('sha256', bytes, 'hex'), 'hex');
const bytesOf = (h: Hex): Buffer => Buffer.from(h, 'hex');
const asBuffer = (u: Uint8Array): Buffer =>
  Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
const hexOf = (h: Uint8Array): Hex => asBuffer(h).toString('hex');

export const leafHash = (keyHash: Hex, valueHash: Hex): Hex =>
  sha256(encode(LEAF, bytesOf(keyHash), bytesOf(valueHash))).toString('hex');
export const internalHash = (left: Hex, right: Hex): Hex =>
  sha256(encode(INTERNAL, bytesOf(left), bytesOf(right))).toString('hex');

/** Bit `depth` of a 64-digit hex hash, most significant first. */
export function bitAt(keyHash: Hex, depth: number): number {
  const nibble = Number.parseInt(keyHash[depth >> 2] as string, 16);
  return (nibble >> (3 - (depth & 3))) & 1;
}
const bitOf = (keyHash: Uint8Array, depth: number): number =>
  ((keyHash[depth >> 3] as number) >> (7 - (depth & 7))) & 1;

export type DecodedNode =
  | { kind: 'internal'; left: Hex; right: Hex }
  | { kind: 'leaf'; keyHash: Hex; valueHash: Hex };

/** Throws on anything but a well-formed node: a damaged store must never yield a state. */
function checked(encoded: EncodedNode): EncodedNode {
  if (encoded.length !== 65 || (encoded[0] !== LEAF && encoded[0] !== INTERNAL))
    throw new Error('state tree node is malformed');
  return encoded;
}

export function decodeNode(encoded: EncodedNode): DecodedNode {
  const a = hexOf(checked(encoded).subarray(1, 33));
  const b = hexOf(encoded.subarray(33, 65));
  return encoded[0] === INTERNAL
    ? { kind: 'internal', left: a, right: b }
    : { kind: 'leaf', keyHash: a, valueHash: b };
}

/** The node hex `nodeHash` names: a missing node is a damaged store, never a state. */
function load(reader: TreeNodeReader, nodeHash: Hex): EncodedNode {
  const encoded = reader.treeNode(nodeHash);
  // Failing loudly keeps a node from computing a root that differs from everyone else's.
  if (encoded === undefined) throw new Error(`state tree node ${nodeHash} is missing from the store`);
  return checked(encoded);
}

interface Item {
  readonly keyHash: Buffer;
  readonly valueHash: Buffer;
}

/** The nodes one update creates, by hash, and the stored nodes it replaces. */
class NewNodes {
  readonly map = new Map<Hex, EncodedNode>();
  readonly replaced: Hex[] = [];
  /** A leaf, from its key's item. */
  leaf(item: Item): Hex {
    const node = Buffer.allocUnsafe(65);
    node[0] = LEAF;
    item.keyHash.copy(node, 1);
    item.valueHash.copy(node, 33);
    return this.#add(node);
  }
  /** An internal node over two child hashes. */
  internal(left: Hex, right: Hex): Hex {
    const node = Buffer.allocUnsafe(65);
    node[0] = INTERNAL;
    node.write(left, 1, 32, 'hex');
    node.write(right, 33, 32, 'hex');
    return this.#add(node);
  }
  #add(node: Buffer): Hex {
    // Hex out of the hash function: it is the map key, and cheaper than a Buffer for each hash.
    const h = hash('sha256', node, 'hex');
    this.map.set(h, node);
    return h;
  }
}

/**
 * Applies a block's writes to the tree under `root`: one pass over the sorted key hashes, so a
 * node shared by many writes is read and re-hashed once per block, and items are ranges of one
 * sorted array rather than copies. Returns the new root and the nodes it created (to store with
 * the block). The result depends only on the resulting key-value set, never on the order of
 * `writes`. `replaced` names the nodes of the old tree the update walked through and rewrote: they
 * are no longer in the new tree (a hash names one position, so nothing else shares them), which
 * lets a store's cache drop them instead of keeping them over the nodes still in use.
 */
export function updateTree(
  reader: TreeNodeReader,
  root: Hex,
  writes: ReadonlyMap<string, Json>,
): { root: Hex; nodes: Map<Hex, EncodedNode>; replaced: Hex[] } {
  const items: Item[] = [];
  for (const [key, value] of writes)
    items.push({
      keyHash: sha256(Buffer.from(key, 'utf8')),
      valueHash: sha256(canonicalBytes(value)),
    });
  items.sort((x, y) => Buffer.compare(x.keyHash, y.keyHash));
  const nodes = new NewNodes();
  const newRoot = update(reader, nodes, root, 0, items, 0, items.length);
  return { root: newRoot, nodes: nodes.map, replaced: nodes.replaced };
}

/** The subtree `nodeHash` at `depth` with `items[lo, hi)` written into it. */
function update(
  reader: TreeNodeReader,
  nodes: NewNodes,
  nodeHash: Hex,
  depth: number,
  items: Item[],
  lo: number,
  hi: number,
): Hex {
  if (lo === hi) return nodeHash;
  if (nodeHash === EMPTY_ROOT) return build(nodes, depth, items, lo, hi);
  const node = asBuffer(load(reader, nodeHash));
  nodes.replaced.push(nodeHash);
  if (node[0] === LEAF) {
    const keyHash = node.subarray(1, 33);
    // The existing key joins the new ones unless one of them overwrites it.
    for (let i = lo; i < hi; i++)
      if ((items[i] as Item).keyHash.equals(keyHash)) return build(nodes, depth, items, lo, hi);
    const merged = items.slice(lo, hi);
    merged.push({ keyHash: Buffer.from(keyHash), valueHash: Buffer.from(node.subarray(33, 65)) });
    merged.sort((x, y) => Buffer.compare(x.keyHash, y.keyHash));
    return build(nodes, depth, merged, 0, merged.length);
  }
  const split = splitAt(items, depth, lo, hi);
  const left = update(reader, nodes, node.toString('hex', 1, 33), depth + 1, items, lo, split);
  const right = update(reader, nodes, node.toString('hex', 33, 65), depth + 1, items, split, hi);
  return nodes.internal(left, right);
}

/** The subtree holding exactly `items[lo, hi)` (sorted, distinct), rooted at `depth`. */
function build(nodes: NewNodes, depth: number, items: Item[], lo: number, hi: number): Hex {
  if (lo === hi) return EMPTY_ROOT;
  if (hi - lo === 1) return nodes.leaf(items[lo] as Item);
  const split = splitAt(items, depth, lo, hi);
  return nodes.internal(build(nodes, depth + 1, items, lo, split), build(nodes, depth + 1, items, split, hi));
}

/**
 * Index of the first item in `[lo, hi)` whose bit at `depth` is 1. The range shares its first
 * `depth` bits and is sorted, so the bit is 0s then 1s: a binary search.
 */
function splitAt(items: Item[], depth: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (bitOf((items[mid] as Item).keyHash, depth) === 0) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * A proof for one key under one root. `siblings` run from the root down; where the walk ends there
 * is the key's own leaf (present: the verifier recomputes it from `key` and `value`), another key's
 * leaf (`other`: absent) or an empty subtree (absent).
 */
export interface StateProof {
  readonly key: string;
  readonly value?: Json;
  readonly siblings: readonly Hex[];
  readonly other?: { readonly keyHash: Hex; readonly valueHash: Hex };
}

/** The path for `key` under `root`: the sibling hashes and what the walk ends at. */
export function provePath(
  reader: TreeNodeReader,
  root: Hex,
  key: string,
): { siblings: Hex[]; leaf?: { keyHash: Hex; valueHash: Hex }; present: boolean } {
  const keyHash = keyHashOf(key);
  const siblings: Hex[] = [];
  let nodeHash = root;
  for (let depth = 0; ; depth++) {
    if (nodeHash === EMPTY_ROOT) return { siblings, present: false };
    const node = decodeNode(load(reader, nodeHash));
    if (node.kind === 'leaf') return { siblings, leaf: node, present: node.keyHash === keyHash };
    const bit = bitAt(keyHash, depth);
    siblings.push(bit ? node.left : node.right);
    nodeHash = bit ? node.right : node.left;
  }
}

/** The hashes of the stored nodes on `key`'s path under `root`, root first: what its proof reads. */
export function pathNodes(reader: TreeNodeReader, root: Hex, key: string): Hex[] {
  const keyHash = keyHashOf(key);
  const path: Hex[] = [];
  let nodeHash = root;
  for (let depth = 0; nodeHash !== EMPTY_ROOT; depth++) {
    path.push(nodeHash);
    const node = decodeNode(load(reader, nodeHash));
    if (node.kind === 'leaf') break;
    nodeHash = bitAt(keyHash, depth) ? node.right : node.left;
  }
  return path;
}
