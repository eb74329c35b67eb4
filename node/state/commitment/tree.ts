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
 * Stored content-addressed (pages.ts: pages of PAGE_LEVELS levels under the hash of their top
 * node, never changed), so every past root stays readable and a proof built from a root is
 * consistent however the head moves meanwhile. Pure: the caller gives a page reader and stores the
 * pages an update creates.
 */
import { hash } from 'node:crypto';
import type { Json } from '../../protocol/canonical.ts';
import { canonicalBytes, canonicalJson } from '../../protocol/canonical.ts';
import { type Hex, ZERO_HASH } from '../../protocol/hash.ts';
import {
  EMPTY,
  EMPTY_NODE,
  encodePage,
  hexOfHash,
  type InternalNode,
  internalNode,
  LEAF,
  type LeafNode,
  leafNode,
  PAGE_LEVELS,
  REF,
  recordId,
  refNode,
  resolve,
  type TreeNode,
  type TreePageReader,
} from './pages.ts';

export type { TreeNode, TreePageReader } from './pages.ts';

export const EMPTY_ROOT: Hex = ZERO_HASH;

export const keyHashOf = (key: string): Hex => hash('sha256', Buffer.from(key, 'utf8'), 'hex');
export const valueHashOf = (value: Json): Hex => hash('sha256', canonicalBytes(value), 'hex');

const hexOf = (h: Uint8Array): Hex => Buffer.from(h.buffer, h.byteOffset, h.length).toString('hex');
/** SHA-256 of a string's UTF-8 (as `crypto.hash` encodes a string), without a buffer for the text. */
const sha256 = (text: string): Buffer => Buffer.from(hash('sha256', text, 'binary'), 'latin1');

export const leafHash = (keyHash: Hex, valueHash: Hex): Hex =>
  hexOfHash(leafNode(Buffer.from(keyHash, 'hex'), Buffer.from(valueHash, 'hex')).h);
export const internalHash = (left: Hex, right: Hex): Hex =>
  hexOfHash(internalNode(refNode(left), refNode(right)).h);

/** Bit `depth` of a 64-digit hex hash, most significant first. */
export function bitAt(keyHash: Hex, depth: number): number {
  const nibble = Number.parseInt(keyHash[depth >> 2] as string, 16);
  return (nibble >> (3 - (depth & 3))) & 1;
}
const bitOf = (keyHash: Uint8Array, depth: number): number =>
  ((keyHash[depth >> 3] as number) >> (7 - (depth & 7))) & 1;

/** The tree under `root`: the reader's own copy in memory, else a reference resolved from pages. */
export const treeAt = (reader: TreePageReader, root: Hex): TreeNode =>
  reader.treeRoot?.(root) ?? refNode(root, reader.rootRecord?.(root));

interface Item {
  readonly keyHash: Buffer;
  readonly valueHash: Buffer;
}

/** SHA-256 as a one-byte string (pages.ts `NodeHash`): such strings sort as their bytes do. */
const sha256Text = (text: string): string => hash('sha256', text, 'binary');

/** What one update produces: the pages it creates, by record id, and the stored records it replaces. */
class Update {
  readonly pages = new Map<string, Uint8Array>();
  readonly replaced: string[] = [];
  readonly reader: TreePageReader;
  /** The id prefix of the records this update writes (pages.ts `recordId`). */
  readonly prefix: string;
  readonly height: number;
  constructor(reader: TreePageReader, height: number | undefined) {
    this.reader = reader;
    this.prefix = recordId('', height);
    this.height = height ?? -1;
  }
  /** An internal node at `depth`; one heading a page (depth a multiple of PAGE_LEVELS) is stored. */
  internal(left: TreeNode, right: TreeNode, depth: number): InternalNode {
    const node = internalNode(left, right);
    if (depth % PAGE_LEVELS === 0) this.store(node);
    return node;
  }
  store(node: InternalNode | LeafNode): void {
    const id = this.prefix + hexOfHash(node.h);
    this.pages.set(id, encodePage(node));
    node.record = id;
    node.at = this.height;
  }
}

/**
 * Applies a block's writes to the tree under `root`: one pass over the sorted key hashes, so a
 * node shared by many writes is read and re-hashed once per block, and items are ranges of one
 * sorted array rather than copies. Returns the new root, the new tree (in memory, sharing what did
 * not change with the old one), and the pages it created (to store with the block). The result
 * depends only on the resulting key-value set, never on the order of `writes`. `replaced` names
 * the stored records of the old tree the update rewrote: they are no longer in the new tree (a
 * hash names one position, so nothing else shares them) — pruning's stale list. With `height` (the
 * block's), the pages are records keyed by height and hash, else by hash alone (pages.ts); either
 * way the roots and proofs are the same. `rootRecord` is the id of the record the root heads.
 */
export function updateTree(
  reader: TreePageReader,
  root: Hex,
  writes: ReadonlyMap<string, Json>,
  height?: number,
): {
  root: Hex;
  tree: TreeNode;
  pages: Map<string, Uint8Array>;
  replaced: string[];
  rootRecord: string | undefined;
} {
  // Sorted by the key hash as a string (one code unit a byte, so byte order): no native call per
  // comparison, as `Buffer.compare` makes.
  const sorted: { k: string; value: Json }[] = [];
  for (const [key, value] of writes) sorted.push({ k: sha256Text(key), value });
  sorted.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const items: Item[] = sorted.map(({ k, value }) => ({
    keyHash: Buffer.from(k, 'latin1'),
    valueHash: sha256(canonicalJson(value)),
  }));
  const u = new Update(reader, height);
  const tree = update(u, treeAt(reader, root), 0, items, 0, items.length);
  // The root heads a record even when it is a leaf (a state of one key).
  if (tree.kind === LEAF && tree.record === undefined) u.store(tree);
  const rootRecord = tree.kind === REF ? tree.hex : tree.kind === EMPTY ? undefined : tree.record;
  return { root: hexOfHash(tree.h), tree, pages: u.pages, replaced: u.replaced, rootRecord };
}

/** The subtree `node` at `depth` with `items[lo, hi)` written into it. */
function update(u: Update, old: TreeNode, depth: number, items: Item[], lo: number, hi: number): TreeNode {
  if (lo === hi) return old;
  const node = resolve(u.reader, old);
  if (node.kind === EMPTY) return build(u, depth, items, lo, hi);
  let out: TreeNode;
  if (node.kind === LEAF) {
    // The existing key joins the new ones, in its sorted place, unless one of them overwrites it.
    let at = lo;
    while (at < hi && Buffer.compare((items[at] as Item).keyHash, node.keyHash) < 0) at++;
    const overwritten = at < hi && (items[at] as Item).keyHash.equals(node.keyHash);
    if (overwritten && hi - lo === 1 && (items[lo] as Item).valueHash.equals(node.valueHash)) return node;
    if (overwritten) out = build(u, depth, items, lo, hi);
    else {
      const merged = items.slice(lo, at);
      merged.push({ keyHash: node.keyHash, valueHash: node.valueHash });
      for (let i = at; i < hi; i++) merged.push(items[i] as Item);
      out = build(u, depth, merged, 0, merged.length);
    }
  } else {
    const split = splitAt(items, depth, lo, hi);
    const left = update(u, node.left, depth + 1, items, lo, split);
    const right = update(u, node.right, depth + 1, items, split, hi);
    // Values written again unchanged leave the node as it was: nothing to hash or store. (The same
    // object, an untouched side, needs no comparison.)
    if ((left === node.left || left.h === node.left.h) && (right === node.right || right.h === node.right.h))
      return node;
    out = u.internal(left, right, depth);
  }
  // After the children: the old root's record comes last, which pruning relies on (chain/store.ts).
  if (node.record !== undefined) u.replaced.push(node.record);
  return out;
}

/** The subtree holding exactly `items[lo, hi)` (sorted, distinct), rooted at `depth`. */
function build(u: Update, depth: number, items: Item[], lo: number, hi: number): TreeNode {
  if (lo === hi) return EMPTY_NODE;
  if (hi - lo === 1) {
    const item = items[lo] as Item;
    return leafNode(item.keyHash, item.valueHash);
  }
  const split = splitAt(items, depth, lo, hi);
  return u.internal(build(u, depth + 1, items, lo, split), build(u, depth + 1, items, split, hi), depth);
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
  reader: TreePageReader,
  root: Hex,
  key: string,
): { siblings: Hex[]; leaf?: { keyHash: Hex; valueHash: Hex }; present: boolean } {
  const keyHash = Buffer.from(keyHashOf(key), 'hex');
  const siblings: Hex[] = [];
  let next = treeAt(reader, root);
  for (let depth = 0; ; depth++) {
    const node = resolve(reader, next);
    if (node.kind === EMPTY) return { siblings, present: false };
    if (node.kind === LEAF) {
      const leaf = { keyHash: hexOf(node.keyHash), valueHash: hexOf(node.valueHash) };
      return { siblings, leaf, present: node.keyHash.equals(keyHash) };
    }
    const bit = bitOf(keyHash, depth);
    siblings.push(hexOfHash(bit ? node.left.h : node.right.h));
    next = bit ? node.right : node.left;
  }
}

/** The ids of the stored records on `key`'s path under `root`, root first: what its proof reads. */
export function pathRecords(reader: TreePageReader, root: Hex, key: string): string[] {
  const keyHash = Buffer.from(keyHashOf(key), 'hex');
  const path: string[] = [];
  let next = treeAt(reader, root);
  for (let depth = 0; ; depth++) {
    const node = resolve(reader, next);
    if (node.kind === EMPTY) return path;
    if (node.record !== undefined) path.push(node.record);
    if (node.kind === LEAF) return path;
    next = bitOf(keyHash, depth) ? node.right : node.left;
  }
}
