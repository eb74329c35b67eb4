/**
 * The durable store: LevelDB via classic-level. One database, four key spaces:
 *   `b:<height>`  a finalized block (JSON)         `s:<key>`  application state (JSON)
 *   `m:head`      the head: height, hash, roots    `m:genesis` the genesis hash this store belongs to
 *   `H:<height><hash>`  a page of the state tree (state/commitment/pages.ts): binary key (`H:`, the
 *                 height of the block that wrote it as 4 bytes big-endian, the 32 hash bytes of the
 *                 page's top node), the page as value. Height first, so each block's pages sort
 *                 after all before them and LevelDB appends them instead of merging random keys.
 *   `R:<hash>`    the height of the `H:` record a state root heads (a header names only the hash);
 *                 pruned with that record
 *   `P:<hash>`    a page of the format before heights, still read: key `P:` and the 32 hash bytes,
 *                 value the page, then the height of the block that last wrote it (4 bytes
 *                 big-endian, which pruning reads). Tree nodes stored one per record before pages
 *                 are still read too: `T:<hash>` (65 bytes, then the height or nothing) and
 *                 `t:<hex hash>` → hex text
 *   `S:<height>`  with pruning on (node/chain/pruning.ts): the records block `height` took out of
 *                 the tree    `m:pruned` the lowest height whose tree is whole
 * A block, its state writes, its new tree pages and the new head go in one batch written with fsync, so after a crash
 * (even `kill -9` or power loss) the store holds either all of a block or none of it, and the head
 * always names a block whose state is present. Nothing is replayed on restart.
 */
import { ClassicLevel } from 'classic-level';
import type { Block } from '../protocol/block.ts';
import type { Json } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import { pageOfLegacyNode } from '../state/commitment/pages.ts';
import type { TreeNode, TreePageReader } from '../state/commitment/tree.ts';
import type { StateReader } from '../state/module.ts';
import { type PruneStep, staleIds, staleListKey, staleRecords } from './pruning.ts';

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

const binaryKey = (prefix: string, hash: Hex): Buffer => {
  const key = Buffer.allocUnsafe(34);
  key.write(prefix, 0, 2, 'latin1');
  key.write(hash, 2, 32, 'hex');
  return key;
};
const pageKey = (hash: Hex): Buffer => binaryKey('P:', hash);
const rootKey = (hash: Hex): Buffer => binaryKey('R:', hash);
/** The key of a record keyed by height and hash, from its 72-digit id (pages.ts). */
const heightPageKey = (id: string): Buffer => {
  const key = Buffer.allocUnsafe(38);
  key.write('H:', 0, 2, 'latin1');
  key.write(id, 2, 36, 'hex');
  return key;
};
const nodeKey = (hash: Hex): Buffer => binaryKey('T:', hash);
const BINARY = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
/** A page's stored value: the page and the height of the block that wrote it. */
function pageRecord(page: Uint8Array, height: number): Buffer {
  const record = Buffer.allocUnsafe(page.length + 4);
  record.set(page, 0);
  record.writeUInt32BE(height, page.length);
  return record;
}
/** The height that last wrote a stored `P:` page or `T:` node; 0 for a node stored before heights were kept. */
export const recordHeight = (record: Uint8Array, isPage: boolean): number =>
  isPage || record.length === 69
    ? Buffer.from(record.buffer, record.byteOffset, record.length).readUInt32BE(record.length - 4)
    : 0;

/** A node in the format before `T:` (`i` or `l`, then the two hashes in hex), as bytes. */
function legacyNode(text: string): Uint8Array {
  if (text.length !== 129 || (text[0] !== 'i' && text[0] !== 'l')) return Buffer.alloc(0); // malformed: refused on load
  const node = Buffer.alloc(65);
  node[0] = text[0] === 'i' ? 1 : 0;
  return node.write(text.slice(1), 1, 64, 'hex') === 64 ? node : Buffer.alloc(0);
}

/** What a block adds to the state tree (state/commitment/tree.ts `updateTree`). */
export interface TreeWrite {
  /** By record id (pages.ts): 72 digits for a record keyed by height and hash, 64 by hash alone. */
  readonly pages: ReadonlyMap<string, Uint8Array>;
  /** The records of the old tree the block replaced: pruning's stale list. */
  readonly replaced: readonly string[];
  /** The id of the record the new root heads. */
  readonly rootRecord?: string | undefined;
  /** The new tree in memory: kept, so the next block and proofs at this head read no pages. */
  readonly tree?: TreeNode;
}

/** The trees of the last few heads in memory, by root; they share all but what each block changed. */
class RecentTrees {
  readonly #trees = new Map<Hex, TreeNode>();
  get(root: Hex): TreeNode | undefined {
    return this.#trees.get(root);
  }
  add(root: Hex, tree: TreeNode | undefined): void {
    if (tree === undefined) return;
    this.#trees.delete(root);
    this.#trees.set(root, tree);
    // A few heights cover proofs a moment behind the head (receipts of the last blocks).
    for (const old of this.#trees.keys()) {
      if (this.#trees.size <= 4) break;
      this.#trees.delete(old);
    }
  }
}

/**
 * What the chain needs from storage. `ChainStore` is the durable one; `MemoryChainStore` serves the
 * consensus simulator, which crashes and restarts thousands of nodes and cannot afford disks.
 */
export interface ChainStorage extends StateReader, TreePageReader {
  head(): Head | undefined;
  genesisHash(): Hex | undefined;
  setGenesisHash(hash: Hex): Promise<void>;
  getBlockJson(height: number): Promise<string | undefined>;
  getBlock(height: number): Promise<Block | undefined>;
  commit(
    block: Block,
    writes: ReadonlyMap<string, Json>,
    head: Head,
    tree: TreeWrite,
    /** With pruning on: the old tree version to drop in the same batch (node/chain/pruning.ts). */
    prune?: PruneStep,
  ): Promise<void>;
  /** The tree under `root` in memory, if it is a recent head's. */
  treeRoot(root: Hex): TreeNode | undefined;
  /** The id of the record a root heads, when it is keyed by height (pages.ts). */
  rootRecord(root: Hex): string | undefined;
  /** The lowest height whose state tree is whole (1 when nothing was pruned). */
  provableFrom(): number;
  close(): Promise<void>;
}

export class ChainStore implements ChainStorage {
  readonly #db: ClassicLevel<string, string>;
  readonly #trees = new RecentTrees();
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
      // 16 MB instead of LevelDB's 4 MB: a block writes ~1,500 tree pages (~0.7 MB), and a larger
      // memtable flushes and compacts less often. Measured in bench:blocks (README "Benchmarks").
      writeBufferSize: 16 << 20,
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

  treePage(id: string): Uint8Array | undefined {
    if (id.length === 72)
      return this.#db.getSync(heightPageKey(id) as unknown as string, BINARY) as unknown as
        | Buffer
        | undefined;
    const hash = id;
    const record = this.#db.getSync(pageKey(hash) as unknown as string, BINARY) as unknown as
      | Buffer
      | undefined;
    if (record !== undefined) return record.subarray(0, record.length - 4);
    // A node stored before pages: one node per record.
    const node = this.#db.getSync(nodeKey(hash) as unknown as string, BINARY) as unknown as
      | Buffer
      | undefined;
    if (node !== undefined) return pageOfLegacyNode(node.length === 69 ? node.subarray(0, 65) : node);
    const legacy = this.#db.getSync(`t:${hash}`);
    if (legacy !== undefined) return pageOfLegacyNode(legacyNode(legacy));
    // A root asked for by its hash alone, by a reader that did not ask `rootRecord` first.
    const root = this.rootRecord(hash);
    return root === undefined ? undefined : this.treePage(root);
  }

  treeRoot(root: Hex): TreeNode | undefined {
    return this.#trees.get(root);
  }

  rootRecord(root: Hex): string | undefined {
    const height = this.#db.getSync(rootKey(root) as unknown as string, BINARY) as unknown as
      | Buffer
      | undefined;
    return height === undefined || height.length !== 4 ? undefined : height.toString('hex') + root;
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

  /** Writes a finalized block, its state writes, tree pages and the new head atomically, with fsync. */
  async commit(
    block: Block,
    writes: ReadonlyMap<string, Json>,
    head: Head,
    tree: TreeWrite,
    prune?: PruneStep,
  ): Promise<void> {
    const batch = this.#db.batch();
    const height = head.height;
    for (const [id, page] of tree.pages)
      if (id.length === 72)
        batch.put(heightPageKey(id) as unknown as string, page as unknown as string, BINARY);
      else batch.put(pageKey(id) as unknown as string, pageRecord(page, height) as unknown as string, BINARY);
    const rootRecord = tree.rootRecord;
    if (rootRecord?.length === 72 && tree.pages.has(rootRecord))
      batch.put(
        rootKey(head.stateRoot) as unknown as string,
        Buffer.from(rootRecord.slice(0, 8), 'hex') as unknown as string,
        BINARY,
      );
    for (const [key, value] of commitEntries(block, writes, head)) batch.put(key, value);
    if (prune) {
      const stale = staleRecords(tree.replaced, tree.pages);
      if (stale.length > 0) batch.put(staleListKey(height), stale as unknown as string, BINARY);
      if (prune.height !== undefined)
        this.#prune(batch, prune.height, tree.pages, prune.keep, head.stateRoot);
    }
    // Raised before the write: LevelDB applies the batch in the background, and a proof that checked
    // `provableFrom` must never then read a tree half deleted under it (chain/prove.ts).
    if (prune?.height !== undefined) this.#provableFrom = Math.max(this.#provableFrom, prune.height);
    await batch.write({ sync: true });
    // Only after the write: a tree in memory must be one the store holds.
    this.#trees.add(head.stateRoot, tree.tree);
  }

  provableFrom(): number {
    return this.#provableFrom;
  }

  /**
   * Deletes the records block `height` took out of the tree, so no root before `height` stays
   * whole. Records are content-addressed, so a later block can have written one of them again (a
   * value set back): it then carries that later height, and it stays. `keep` names records a proof
   * still needs (pruning.ts); `created` are this batch's own pages. A stale list names pages, or
   * nodes stored one per record before pages. A record keyed by height is written by one block
   * only, so it goes without being read. The `R:` index of a root goes with the root's page:
   * `headRoot` is the root this batch commits (its `R:` record, if written again, must stay).
   */
  #prune(
    batch: ReturnType<ClassicLevel<string, string>['batch']>,
    height: number,
    created: ReadonlyMap<string, Uint8Array>,
    keep: ReadonlySet<string>,
    headRoot: Hex,
  ): void {
    const listKey = staleListKey(height);
    const list = this.#db.getSync(listKey as unknown as string, BINARY) as unknown as Buffer | undefined;
    const ids = list === undefined ? [] : staleIds(list);
    for (const id of ids) {
      if (created.has(id) || keep.has(id)) continue;
      if (id.length === 72) {
        batch.del(heightPageKey(id) as unknown as string, BINARY);
        continue;
      }
      const hash = id;
      for (const key of [pageKey(hash), nodeKey(hash)]) {
        const record = this.#db.getSync(key as unknown as string, BINARY) as unknown as Buffer | undefined;
        if (record !== undefined && recordHeight(record, key[0] === 0x50) < height)
          batch.del(key as unknown as string, BINARY);
      }
    }
    const last = ids.at(-1);
    if (last !== undefined && !keep.has(last)) this.#pruneRootIndex(batch, last, headRoot);
    if (list !== undefined) batch.del(listKey as unknown as string, BINARY);
    batch.put('m:pruned', String(height));
  }

  /**
   * Deletes the `R:` record of the root whose page `id` is being deleted. An update takes the old
   * root out of the tree last (state/commitment/tree.ts), so a stale list ends with the record of
   * the root it replaced: one read a pruned block. `R:` is deleted only while it still names this
   * very record — a root set back later names the later height, and stays — so a list that does
   * not end with a root deletes nothing.
   */
  #pruneRootIndex(batch: ReturnType<ClassicLevel<string, string>['batch']>, id: string, headRoot: Hex): void {
    if (id.length !== 72) return;
    const hash = id.slice(8);
    if (hash === headRoot || this.rootRecord(hash) !== id) return;
    batch.del(rootKey(hash) as unknown as string, BINARY);
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
  readonly #treePages = new Map<string, Uint8Array>();
  readonly #rootRecords = new Map<Hex, string>();
  readonly #trees = new RecentTrees();
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
  treePage(id: string): Uint8Array | undefined {
    return this.#treePages.get(id);
  }
  treeRoot(root: Hex): TreeNode | undefined {
    return this.#trees.get(root);
  }
  rootRecord(root: Hex): string | undefined {
    return this.#rootRecords.get(root);
  }
  /** The simulator keeps every version: it never prunes. */
  async commit(block: Block, writes: ReadonlyMap<string, Json>, head: Head, tree: TreeWrite): Promise<void> {
    for (const [id, page] of tree.pages) this.#treePages.set(id, page);
    if (tree.rootRecord?.length === 72 && tree.pages.has(tree.rootRecord))
      this.#rootRecords.set(head.stateRoot, tree.rootRecord);
    this.#trees.add(head.stateRoot, tree.tree);
    for (const [key, value] of commitEntries(block, writes, head)) this.#values.set(key, value);
  }
  provableFrom(): number {
    return 1;
  }
  async close(): Promise<void> {}
}
