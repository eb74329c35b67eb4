/**
 * The state tree in memory and in storage. Storage only: the commitment (tree.ts, README "State
 * commitment") is the same whatever the layout.
 *
 * In memory a tree is a graph of decoded nodes holding their hashes, each computed once, as
 * one-byte strings of 32 characters (a character a byte: latin1) — the hash function's own output,
 * kept inline in one small object, compared with `===`, and no buffer object per node;
 * an update builds new nodes over the old ones it does not change (structural sharing), so a block
 * walks objects, not a cache keyed by hex strings, and the head's tree stays in memory between
 * blocks. A child not loaded yet is a `Ref`: its hash, resolved from the store on first use and
 * remembered on the reference.
 *
 * In storage a tree is cut into *pages*: the subtree under every internal node at a depth that is a
 * multiple of PAGE_LEVELS, down to PAGE_LEVELS levels below it, stored as one record under that
 * node's hash (so records stay content-addressed: never changed, every past root readable, and
 * pruning's stale lists work as before). A page lists its nodes in preorder, one tag byte each:
 *   0 keyHash valueHash   a leaf (inline, whatever its depth in the page)
 *   1 left right          an internal node, its two subtrees following
 *   2                     an empty subtree
 *   3 hash                a subtree stored in its own record under its hash alone (a page of the
 *                         format before heights, or a node of the format before pages: `T:`
 *                         records, one node each, read as one-node pages)
 *   4 height hash         a subtree stored in its own record under the height of the block that
 *                         wrote it (4 bytes, big-endian) and its hash
 * Internal hashes inside a page are recomputed when it is read (and checked against the hash it was
 * asked for), so a block writes one record per changed page instead of one per changed node.
 *
 * A record is named by its *id*: the hash in hex (64 digits) for a record stored under its hash
 * alone, or the height as 8 hex digits then the hash (72 digits) for one stored under both. Keyed
 * by height first, a block's new pages sort after everything stored before them, so LevelDB
 * appends them instead of merging random keys into the whole key range (README "State
 * commitment"); an update given its block's height writes such records, one without writes the
 * format before.
 */
import { hash } from 'node:crypto';
import type { Hex } from '../../protocol/hash.ts';

/** Levels per page: measured (README "State commitment", storage) against 8 and against 1 node per record. */
export const PAGE_LEVELS = 4;

export const LEAF = 0;
export const INTERNAL = 1;
export const EMPTY = 2;
export const REF = 3;
/** Page tag of a reference to a record keyed by height and hash. */
export const REF_AT = 4;

/** The id of the record of the node hashing to `hash`, written by the block at `height` (module comment). */
export const recordId = (hash: Hex, height?: number): string =>
  height === undefined ? hash : height.toString(16).padStart(8, '0') + hash;
/** The hash of the node an id names. */
export const recordHash = (id: string): Hex => (id.length === 72 ? id.slice(8) : id);

/** A node's hash: its 32 bytes as a one-byte (latin1) string (module comment). */
export type NodeHash = string;

export interface LeafNode {
  readonly kind: 0;
  readonly h: NodeHash;
  readonly keyHash: Buffer;
  readonly valueHash: Buffer;
  /** The id of the record this node heads (module comment), when it heads one. */
  record?: string;
  /** The height in that id, −1 for a record keyed by its hash alone or none (`encodePage` needs no hex). */
  at: number;
}
export interface InternalNode {
  readonly kind: 1;
  readonly h: NodeHash;
  readonly left: TreeNode;
  readonly right: TreeNode;
  record?: string;
  at: number;
}
export interface EmptyNode {
  readonly kind: 2;
  readonly h: NodeHash;
}
export interface RefNode {
  readonly kind: 3;
  readonly h: NodeHash;
  /** The id of the record to load (module comment). */
  readonly hex: string;
  /** The height in that id, −1 for a record keyed by its hash alone. */
  readonly at: number;
  /** The node once loaded. */
  node?: LeafNode | InternalNode;
}
export type TreeNode = LeafNode | InternalNode | EmptyNode | RefNode;

export interface TreePageReader {
  /** The stored page (or one-node record of the format before) with this id, or `undefined`. */
  treePage(id: string): Uint8Array | undefined;
  /** The tree under `root` if the reader holds it in memory (the head's); else it is read from pages. */
  treeRoot?(root: Hex): TreeNode | undefined;
  /** The id of the record a root heads, when it is keyed by height (a root names only its hash). */
  rootRecord?(root: Hex): string | undefined;
}

/**
 * Every node has the same fields in the same order, whatever its kind: one object shape keeps the
 * walks over them monomorphic (the profile put a fifth of an update in a page write that was not).
 */
class Node {
  kind: number;
  h: NodeHash;
  left: TreeNode | undefined;
  right: TreeNode | undefined;
  keyHash: Buffer | undefined;
  valueHash: Buffer | undefined;
  record: string | undefined = undefined;
  at = -1;
  hex: string | undefined;
  node: TreeNode | undefined = undefined;
  constructor(
    kind: number,
    h: NodeHash,
    left?: TreeNode,
    right?: TreeNode,
    keyHash?: Buffer,
    valueHash?: Buffer,
    hex?: Hex,
  ) {
    this.kind = kind;
    this.h = h;
    this.left = left;
    this.right = right;
    this.keyHash = keyHash;
    this.valueHash = valueHash;
    this.hex = hex;
  }
}

export const EMPTY_NODE = new Node(EMPTY, '\0'.repeat(32)) as unknown as EmptyNode;

/** A hash from its hex form, and back. */
export const hashOfHex = (hex: Hex): NodeHash => Buffer.from(hex, 'hex').toString('latin1');
export const hexOfHash = (h: NodeHash): Hex => Buffer.from(h, 'latin1').toString('hex');

// One scratch buffer for every hashed preimage: a node is 65 bytes, hashed once and never kept.
const scratch = Buffer.alloc(65);
// Kept as `crypto.hash` returns it ('binary' is latin1): `hash(…, 'buffer')` measured about twice
// this, and hex about 1.15× plus its decoding (Node 24).
const digest = (): NodeHash => hash('sha256', scratch, 'binary');

export function leafNode(keyHash: Buffer, valueHash: Buffer): LeafNode {
  scratch[0] = LEAF;
  // TypedArray#set: Buffer#copy measured several times slower for 32 bytes.
  scratch.set(keyHash, 1);
  scratch.set(valueHash, 33);
  return new Node(LEAF, digest(), undefined, undefined, keyHash, valueHash) as unknown as LeafNode;
}
export function internalNode(left: TreeNode, right: TreeNode): InternalNode {
  scratch[0] = INTERNAL;
  scratch.write(left.h, 1, 32, 'latin1');
  scratch.write(right.h, 33, 32, 'latin1');
  return new Node(INTERNAL, digest(), left, right) as unknown as InternalNode;
}
/** The height in a record id (module comment); −1 for an id of a hash alone. */
export const idHeight = (id: string): number => (id.length === 72 ? Number.parseInt(id.slice(0, 8), 16) : -1);

/** A reference to the node hashing to `hex`, stored in the record `id` (by default under its hash alone). */
export const refNode = (hex: Hex, id: string = hex): TreeNode =>
  /^0{64}$/.test(hex) ? EMPTY_NODE : reference(hashOfHex(hex), id, idHeight(id));

function reference(h: NodeHash, id: string, at: number): RefNode {
  const node = new Node(REF, h, undefined, undefined, undefined, undefined, id);
  node.at = at;
  return node as unknown as RefNode;
}

/** The node behind `node`, loading its record when it is a reference. */
export function resolve(reader: TreePageReader, node: TreeNode): LeafNode | InternalNode | EmptyNode {
  if (node.kind !== REF) return node;
  if (node.node === undefined) node.node = loadPage(reader, node.hex, node.h);
  return node.node;
}

function loadPage(reader: TreePageReader, id: string, expected: NodeHash): LeafNode | InternalNode {
  const page = reader.treePage(id);
  const hex = recordHash(id);
  // Failing loudly keeps a node from computing a root that differs from everyone else's.
  if (page === undefined) throw new Error(`state tree node ${hex} is missing from the store`);
  const bytes = Buffer.isBuffer(page) ? page : Buffer.from(page.buffer, page.byteOffset, page.length);
  const at = { i: 0 };
  const node = decode(bytes, at, 0);
  if (at.i !== bytes.length || node.kind === EMPTY || node.kind === REF || node.h !== expected)
    throw new Error(`state tree node ${hex} is malformed in the store`);
  node.record = id;
  node.at = idHeight(id);
  return node;
}

/** A page's subtree from `at.i`; throws on anything malformed (a damaged store never yields a state). */
function decode(bytes: Buffer, at: { i: number }, depth: number): TreeNode {
  const tag = bytes[at.i++];
  const need = tag === LEAF ? 64 : tag === REF ? 32 : tag === REF_AT ? 36 : 0;
  if (at.i + need > bytes.length || depth > 256) throw new Error('state tree page is malformed');
  const start = at.i;
  at.i += need;
  switch (tag) {
    case LEAF:
      return leafNode(bytes.subarray(start, start + 32), bytes.subarray(start + 32, start + 64));
    case INTERNAL: {
      const left = decode(bytes, at, depth + 1);
      return internalNode(left, decode(bytes, at, depth + 1));
    }
    case EMPTY:
      return EMPTY_NODE;
    case REF:
      return refNode(bytes.toString('hex', start, start + 32));
    case REF_AT: {
      const h = bytes.toString('latin1', start + 4, start + 36);
      if (h === EMPTY_NODE.h) return EMPTY_NODE; // as refNode: a zero hash is the empty subtree
      return reference(h, bytes.toString('hex', start, start + 36), bytes.readUInt32BE(start));
    }
    default:
      throw new Error('state tree page is malformed');
  }
}

const pageBuffer = Buffer.alloc(1 << 16);

/**
 * The page headed by `node`: its subtree down to PAGE_LEVELS levels, where internal nodes are
 * referenced by hash (they head pages of their own, written first: an update builds bottom-up), as
 * is any node that already heads a record (a one-node record of the format before).
 */
export function encodePage(node: LeafNode | InternalNode): Buffer {
  const end = write(node, 0, 0);
  // Not Buffer.from(subarray): that copies byte by byte (measured ~2x this for a page).
  const page = Buffer.allocUnsafe(end);
  pageBuffer.copy(page, 0, 0, end);
  return page;
}

function write(node: TreeNode, level: number, i: number): number {
  const out = pageBuffer;
  if (node.kind === EMPTY) {
    out[i] = EMPTY;
    return i + 1;
  }
  if (
    node.kind === REF ||
    (level > 0 && node.record !== undefined) ||
    (level === PAGE_LEVELS && node.kind === INTERNAL)
  ) {
    if (node.kind !== REF && node.record === undefined)
      throw new Error('a page boundary node was not stored');
    // The reference from the node's height and hash bytes: its id's hex is never decoded.
    const at = node.at;
    if (at >= 0) {
      out[i] = REF_AT;
      out[i + 1] = at >>> 24;
      out[i + 2] = (at >>> 16) & 0xff;
      out[i + 3] = (at >>> 8) & 0xff;
      out[i + 4] = at & 0xff;
      out.write(node.h, i + 5, 32, 'latin1');
      return i + 37;
    }
    out[i] = REF;
    out.write(node.h, i + 1, 32, 'latin1');
    return i + 33;
  }
  if (node.kind === LEAF) {
    out[i] = LEAF;
    out.set(node.keyHash, i + 1);
    out.set(node.valueHash, i + 33);
    return i + 65;
  }
  out[i] = INTERNAL;
  return write(node.right, level + 1, write(node.left, level + 1, i + 1));
}

/** A one-node record of the format before pages (`0x00 kh vh` or `0x01 left right`), as a page. */
export function pageOfLegacyNode(node: Uint8Array): Uint8Array {
  if (node.length !== 65 || node[0] === undefined || node[0] > 1) return new Uint8Array(0); // malformed: refused on load
  if (node[0] === LEAF) return node;
  const out = Buffer.alloc(67);
  let i = 0;
  out[i++] = INTERNAL;
  for (const at of [1, 33]) {
    const child = node.subarray(at, at + 32);
    if (child.every((b) => b === 0)) out[i++] = EMPTY;
    else {
      out[i++] = REF;
      out.set(child, i);
      i += 32;
    }
  }
  return out.subarray(0, i);
}

/** The ids of the records a stored page refers to (its `3` and `4` entries), for walking what a store holds. */
export function pageRefs(page: Uint8Array): string[] {
  const bytes = Buffer.from(page.buffer, page.byteOffset, page.length);
  const refs: string[] = [];
  for (let i = 0; i < bytes.length; ) {
    const tag = bytes[i++];
    if (tag === LEAF) i += 64;
    else if (tag === REF) {
      refs.push(bytes.toString('hex', i, i + 32));
      i += 32;
    } else if (tag === REF_AT) {
      refs.push(bytes.toString('hex', i, i + 36));
      i += 36;
    } else if (tag !== INTERNAL && tag !== EMPTY) throw new Error('state tree page is malformed');
  }
  return refs;
}
