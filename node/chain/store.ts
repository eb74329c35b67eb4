/**
 * The durable store: LevelDB via classic-level. One database, four key spaces:
 *   `b:<height>`  a finalized block (JSON)         `s:<key>`  application state (JSON)
 *   `m:head`      the head: height, hash, roots    `m:genesis` the genesis hash this store belongs to
 *   `T:<hash>`    a state tree node (state/commitment/tree.ts), content-addressed: binary key
 *                 (`T:` and the 32 hash bytes) and value (the node's 65 bytes, then the height of
 *                 the block that last wrote it as 4 bytes big-endian, which pruning reads); 65-byte
 *                 values (before pruning) and `t:<hex hash>` → hex text (before that) are still read
 *   `S:<height>`  with pruning on (node/chain/pruning.ts): the nodes block `height` took out of the
 *                 tree, 32 hash bytes each        `m:pruned` the lowest height whose tree is whole
 * A block, its state writes, its new tree nodes and the new head go in one batch written with fsync, so after a crash
 * (even `kill -9` or power loss) the store holds either all of a block or none of it, and the head
 * always names a block whose state is present. Nothing is replayed on restart.
 */
import { ClassicLevel } from 'classic-level';
import type { Block } from '../protocol/block.ts';
import type { Json } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import type { EncodedNode, TreeNodeReader } from '../state/commitment/tree.ts';
import type { StateReader } from '../state/module.ts';
import { type PruneStep, staleListKey, staleNodes } from './pruning.ts';

export interface Head {
  readonly height: number;
  readonly hash: Hex;
  readonly stateRoot: Hex;
  readonly timestamp: number;
}

const blockKey = (height: number): string => `b:${String(height).padStart(12, '0')}`;

/** A stored JSON value, parsed; undefined when absent. */
const parsed = <T>(raw: string | undefined): T | undefined =>
  raw === undefined ? undefined : (JSON.parse(raw) as T);

/** The text key-value pairs a finalized block commits: the block, its state writes, the head. */
function* commitEntries(
  block: Block,
  writes: ReadonlyMap<string, Json>,
  head: Head,
): Generator<[string, string]> {
  yield [blockKey(block.header.height), JSON.stringify(block)];
  for (const [key, value] of writes) yield [`s:${key}`, JSON.stringify(value)];
  yield ['m:head', JSON.stringify(head)];
}

const NODE_PREFIX = Buffer.from('T:', 'latin1');
const nodeKey = (hash: Hex): Buffer => {
  const key = Buffer.allocUnsafe(34);
  NODE_PREFIX.copy(key, 0);
  key.write(hash, 2, 32, 'hex');
  return key;
};
const BINARY = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
/** A node's stored value: its 65 bytes and the height of the block that wrote it. */
function nodeRecord(node: EncodedNode, height: number): Buffer {
  const record = Buffer.allocUnsafe(69);
  record.set(node, 0);
  record.writeUInt32BE(height, 65);
  return record;
}
/** The height that last wrote a stored node; 0 for a node stored before heights were kept. */
export const recordHeight = (record: Uint8Array): number =>
  record.length === 69 ? Buffer.from(record.buffer, record.byteOffset, 69).readUInt32BE(65) : 0;

/** A node in the format before `T:` (`i` or `l`, then the two hashes in hex), as bytes. */
function legacyNode(text: string): EncodedNode {
  if (text.length !== 129 || (text[0] !== 'i' && text[0] !== 'l')) return Buffer.alloc(0); // malformed: tree.ts refuses it
  const node = Buffer.alloc(65);
  node[0] = text[0] === 'i' ? 1 : 0;
  return node.write(text.slice(1), 1, 64, 'hex') === 64 ? node : Buffer.alloc(0);
}

/**
 * What the chain needs from storage. `ChainStore` is the durable one; `MemoryChainStore` serves the
 * consensus simulator, which crashes and restarts thousands of nodes and cannot afford disks.
 */
export interface ChainStorage extends StateReader, TreeNodeReader {
  head(): Head | undefined;
  genesisHash(): Hex | undefined;
  setGenesisHash(hash: Hex): Promise<void>;
  getBlockJson(height: number): Promise<string | undefined>;
  getBlock(height: number): Promise<Block | undefined>;
  commit(
    block: Block,
    writes: ReadonlyMap<string, Json>,
    head: Head,
    treeNodes: ReadonlyMap<Hex, EncodedNode>,
    /** The nodes the block replaced (`updateTree`): a hint for a cache, and pruning's stale list. */
    replacedTreeNodes?: readonly Hex[],
    /** With pruning on: the old tree version to drop in the same batch (node/chain/pruning.ts). */
    prune?: PruneStep,
  ): Promise<void>;
  /** The lowest height whose state tree is whole (1 when nothing was pruned). */
  provableFrom(): number;
  close(): Promise<void>;
}

/**
 * Tree nodes of the current tree, as far as `limit` allows. Nodes never change (they are stored
 * under their hash), so the cache needs no invalidation; but each block replaces the nodes on the
 * paths it writes (the upper levels every block), and a cache that keeps those fills with nodes no
 * later block reads, while the nodes still in use fall out and are read again from LevelDB (with
 * the two-generation cache before, such reads were the largest item of `npm run bench:state` at
 * 50,000 keys). So a commit drops the nodes its block replaced, and the cache holds the tree in use. When full, the nodes
 * cached longest ago go first (a Map iterates in insertion order): every Map operation is O(1),
 * and the nodes blocks rewrite, the upper levels, are always the most recently inserted. About
 * 300 bytes a node.
 */
class NodeCache {
  readonly #nodes = new Map<Hex, EncodedNode>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }
  get(hash: Hex): EncodedNode | undefined {
    return this.#nodes.get(hash);
  }
  set(hash: Hex, node: EncodedNode): void {
    if (this.#nodes.size >= this.#limit) this.#evict();
    this.#nodes.set(hash, node);
  }
  delete(hash: Hex): void {
    this.#nodes.delete(hash);
  }
  /** Drops the oldest eighth, so eviction is amortized over many insertions. */
  #evict(): void {
    let n = Math.max(1, this.#limit >> 3);
    for (const hash of this.#nodes.keys()) {
      this.#nodes.delete(hash);
      if (--n === 0) break;
    }
  }
}

export class ChainStore implements ChainStorage {
  readonly #db: ClassicLevel<string, string>;
  readonly #nodes = new NodeCache(250_000);
  #provableFrom: number;
  private constructor(db: ClassicLevel<string, string>) {
    this.#db = db;
    this.#provableFrom = Number(db.getSync('m:pruned') ?? 1);
  }

  /** `createIfMissing: false` for a verifier: an empty directory is no chain. */
  static async open(directory: string, options: { createIfMissing?: boolean } = {}): Promise<ChainStore> {
    const db = new ClassicLevel<string, string>(directory, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      createIfMissing: options.createIfMissing ?? true,
    });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: Error }).cause;
      throw new Error(
        `cannot open the chain store at ${directory}: ${cause?.message ?? (e as Error).message}`,
      );
    }
    return new ChainStore(db);
  }

  get(key: string): Json | undefined {
    return parsed<Json>(this.#db.getSync(`s:${key}`));
  }

  treeNode(hash: Hex): EncodedNode | undefined {
    const cached = this.#nodes.get(hash);
    if (cached !== undefined) return cached;
    const record = this.#db.getSync(nodeKey(hash) as unknown as string, BINARY) as unknown as
      | Buffer
      | undefined;
    const raw = record === undefined || record.length !== 69 ? record : record.subarray(0, 65);
    const legacy = raw === undefined ? this.#db.getSync(`t:${hash}`) : undefined;
    const stored = raw ?? (legacy === undefined ? undefined : legacyNode(legacy));
    if (stored !== undefined) this.#nodes.set(hash, stored);
    return stored;
  }

  head(): Head | undefined {
    return parsed<Head>(this.#db.getSync('m:head'));
  }

  genesisHash(): Hex | undefined {
    return this.#db.getSync('m:genesis');
  }

  async setGenesisHash(hash: Hex): Promise<void> {
    await this.#db.put('m:genesis', hash, { sync: true });
  }

  /** The stored JSON of a block, unparsed, so a verifier can report exactly what is there. */
  async getBlockJson(height: number): Promise<string | undefined> {
    return this.#db.get(blockKey(height));
  }

  async getBlock(height: number): Promise<Block | undefined> {
    return parsed<Block>(await this.getBlockJson(height));
  }

  /** Writes a finalized block, its state writes, tree nodes and the new head atomically, with fsync. */
  async commit(
    block: Block,
    writes: ReadonlyMap<string, Json>,
    head: Head,
    treeNodes: ReadonlyMap<Hex, EncodedNode>,
    replacedTreeNodes: readonly Hex[] = [],
    prune?: PruneStep,
  ): Promise<void> {
    const batch = this.#db.batch();
    const height = head.height;
    for (const [hash, node] of treeNodes)
      batch.put(nodeKey(hash) as unknown as string, nodeRecord(node, height) as unknown as string, BINARY);
    for (const [key, value] of commitEntries(block, writes, head)) batch.put(key, value);
    if (prune) {
      const stale = staleNodes(replacedTreeNodes, treeNodes);
      if (stale.length > 0) batch.put(staleListKey(height), stale as unknown as string, BINARY);
      if (prune.height !== undefined) this.#prune(batch, prune.height, treeNodes, prune.keep);
    }
    // Raised before the write: LevelDB applies the batch in the background, and a proof that checked
    // `provableFrom` must never then read a tree half deleted under it (chain/prove.ts).
    if (prune?.height !== undefined) this.#provableFrom = Math.max(this.#provableFrom, prune.height);
    await batch.write({ sync: true });
    // Only after the write: a cached node must be one the store holds. Every new node is cached,
    // not only those read: the next blocks walk through them, and a read from LevelDB costs
    // several times a cache insertion. The replaced nodes go first: a rewrite to an equal value
    // creates a node with the hash it replaces, and that one stays.
    for (const hash of replacedTreeNodes) this.#nodes.delete(hash);
    for (const [hash, node] of treeNodes) this.#nodes.set(hash, node);
  }

  provableFrom(): number {
    return this.#provableFrom;
  }

  /**
   * Deletes the nodes block `height` took out of the tree, so no root before `height` stays whole.
   * Nodes are content-addressed, so a later block can have written one of them again (a value set
   * back, a leaf moved deeper): its record then carries that later height, and it stays. `keep`
   * names nodes a proof still needs (pruning.ts); `created` are this batch's own nodes.
   */
  #prune(
    batch: ReturnType<ClassicLevel<string, string>['batch']>,
    height: number,
    created: ReadonlyMap<Hex, EncodedNode>,
    keep: ReadonlySet<Hex>,
  ): void {
    const listKey = staleListKey(height);
    const list = this.#db.getSync(listKey as unknown as string, BINARY) as unknown as Buffer | undefined;
    for (let at = 0; list !== undefined && at + 32 <= list.length; at += 32) {
      const hash = list.toString('hex', at, at + 32);
      if (created.has(hash) || keep.has(hash)) continue;
      const key = nodeKey(hash);
      const record = this.#db.getSync(key as unknown as string, BINARY) as unknown as Buffer | undefined;
      if (record !== undefined && recordHeight(record) < height) batch.del(key as unknown as string, BINARY);
    }
    if (list !== undefined) batch.del(listKey as unknown as string, BINARY);
    batch.put('m:pruned', String(height));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

/**
 * Storage in memory, with the same contract: values are kept as JSON text, so what is read back is
 * a copy, exactly as from disk. "Crash" a node by dropping its Chain and reopening this object.
 */
export class MemoryChainStore implements ChainStorage {
  readonly #values = new Map<string, string>();
  readonly #treeNodes = new Map<Hex, EncodedNode>();
  get(key: string): Json | undefined {
    return parsed<Json>(this.#values.get(`s:${key}`));
  }
  head(): Head | undefined {
    return parsed<Head>(this.#values.get('m:head'));
  }
  genesisHash(): Hex | undefined {
    return this.#values.get('m:genesis');
  }
  async setGenesisHash(hash: Hex): Promise<void> {
    this.#values.set('m:genesis', hash);
  }
  async getBlockJson(height: number): Promise<string | undefined> {
    return this.#values.get(blockKey(height));
  }
  async getBlock(height: number): Promise<Block | undefined> {
    return parsed<Block>(this.#values.get(blockKey(height)));
  }
  treeNode(hash: Hex): EncodedNode | undefined {
    return this.#treeNodes.get(hash);
  }
  /** The simulator keeps every version: it never prunes. */
  async commit(
    block: Block,
    writes: ReadonlyMap<string, Json>,
    head: Head,
    treeNodes: ReadonlyMap<Hex, EncodedNode>,
  ): Promise<void> {
    for (const [hash, node] of treeNodes) this.#treeNodes.set(hash, node);
    for (const [key, value] of commitEntries(block, writes, head)) this.#values.set(key, value);
  }
  provableFrom(): number {
    return 1;
  }
  async close(): Promise<void> {}
}
