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

/** A stored node: `i<left><right>` (internal) or `l<keyHash><valueHash>` (leaf), all hex. */
export type EncodedNode = string;

export interface TreeNodeReader {
  /** The node with this hash, or `undefined` when the store does not hold it. */
  treeNode(hash: Hex): EncodedNode | undefined;
}

export const keyHashOf = (key: string): Hex => hash('sha256', Buffer.from(key, 'utf8'), 'hex');
export const valueHashOf = (value: Json): Hex => hash('sha256', canonicalBytes(value), 'hex');

const scratch = Buffer.alloc(65);
function hash65(tag: number, a: Hex, b: Hex): Hex {
  scratch[0] = tag;
  scratch.write(a, 1, 32, 'hex');
  scratch.write(b, 33, 32, 'hex');
  return hash('sha256', scratch, 'hex');
}

export const leafHash = (keyHash: Hex, valueHash: Hex): Hex => hash65(0, keyHash, valueHash);
export const internalHash = (left: Hex, right: Hex): Hex => hash65(1, left, right);

/** Bit `depth` of a 64-digit hex hash, most significant first. */
export function bitAt(keyHash: Hex, depth: number): number {
  const nibble = Number.parseInt(keyHash[depth >> 2] as string, 16);
  return (nibble >> (3 - (depth & 3))) & 1;
}

export type DecodedNode =
  | { kind: 'internal'; left: Hex; right: Hex }
  | { kind: 'leaf'; keyHash: Hex; valueHash: Hex };

export function decodeNode(encoded: EncodedNode): DecodedNode {
  if (encoded.length !== 129) throw new Error('state tree node is malformed');
  const a = encoded.slice(1, 65);
  const b = encoded.slice(65);
  if (encoded[0] === 'i') return { kind: 'internal', left: a, right: b };
  if (encoded[0] === 'l') return { kind: 'leaf', keyHash: a, valueHash: b };
  throw new Error('state tree node is malformed');
}

function load(reader: TreeNodeReader, nodeHash: Hex): DecodedNode {
  const encoded = reader.treeNode(nodeHash);
  // A missing node is a damaged store, never a state: failing loudly keeps a node from computing a
  // root that differs from everyone else's.
  if (encoded === undefined) throw new Error(`state tree node ${nodeHash} is missing from the store`);
  return decodeNode(encoded);
}

interface Item {
  readonly keyHash: Hex;
  readonly valueHash: Hex;
}

/**
 * Applies a block's writes to the tree under `root`: one pass over the sorted key hashes, so a
 * node shared by many writes is read and re-hashed once per block. Returns the new root and the
 * nodes it created (to store with the block). The result depends only on the resulting key-value
 * set, never on the order of `writes`.
 */
export function updateTree(
  reader: TreeNodeReader,
  root: Hex,
  writes: ReadonlyMap<string, Json>,
): { root: Hex; nodes: Map<Hex, EncodedNode> } {
  const items: Item[] = [];
  for (const [key, value] of writes) items.push({ keyHash: keyHashOf(key), valueHash: valueHashOf(value) });
  items.sort((x, y) => (x.keyHash < y.keyHash ? -1 : x.keyHash > y.keyHash ? 1 : 0));
  const nodes = new Map<Hex, EncodedNode>();
  const newRoot = update(reader, nodes, root, 0, items);
  return { root: newRoot, nodes };
}

function update(
  reader: TreeNodeReader,
  nodes: Map<Hex, EncodedNode>,
  nodeHash: Hex,
  depth: number,
  items: Item[],
): Hex {
  if (items.length === 0) return nodeHash;
  if (nodeHash === EMPTY_ROOT) return build(nodes, depth, items);
  const node = load(reader, nodeHash);
  if (node.kind === 'leaf') {
    // The existing key joins the new ones unless one of them overwrites it.
    if (items.some((i) => i.keyHash === node.keyHash)) return build(nodes, depth, items);
    const merged = [...items, { keyHash: node.keyHash, valueHash: node.valueHash }];
    merged.sort((x, y) => (x.keyHash < y.keyHash ? -1 : 1));
    return build(nodes, depth, merged);
  }
  const split = splitAt(items, depth);
  const left = update(reader, nodes, node.left, depth + 1, items.slice(0, split));
  const right = update(reader, nodes, node.right, depth + 1, items.slice(split));
  return internal(nodes, left, right);
}

/** The subtree holding exactly `items` (sorted, distinct), rooted at `depth`. */
function build(nodes: Map<Hex, EncodedNode>, depth: number, items: Item[]): Hex {
  if (items.length === 0) return EMPTY_ROOT;
  if (items.length === 1) {
    const { keyHash, valueHash } = items[0] as Item;
    const h = leafHash(keyHash, valueHash);
    nodes.set(h, `l${keyHash}${valueHash}`);
    return h;
  }
  const split = splitAt(items, depth);
  return internal(
    nodes,
    build(nodes, depth + 1, items.slice(0, split)),
    build(nodes, depth + 1, items.slice(split)),
  );
}

function internal(nodes: Map<Hex, EncodedNode>, left: Hex, right: Hex): Hex {
  const h = internalHash(left, right);
  nodes.set(h, `i${left}${right}`);
  return h;
}

/** Index of the first item whose bit at `depth` is 1 (items are sorted, so those come last). */
function splitAt(items: Item[], depth: number): number {
  let i = 0;
  while (i < items.length && bitAt((items[i] as Item).keyHash, depth) === 0) i++;
  return i;
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
    const node = load(reader, nodeHash);
    if (node.kind === 'leaf') return { siblings, leaf: node, present: node.keyHash === keyHash };
    const bit = bitAt(keyHash, depth);
    siblings.push(bit ? node.left : node.right);
    nodeHash = bit ? node.right : node.left;
  }
}
