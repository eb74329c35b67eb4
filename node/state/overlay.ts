/**
 * Copy-on-write state: reads fall through to a base, writes stay here until merged or dropped.
 * A block executes in one overlay over the store, each transaction in a child overlay, so a
 * rejected transaction leaves nothing behind.
 */
import type { Json } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import { EMPTY_ROOT, type TreeNode, type TreePageReader, updateTree } from './commitment/tree.ts';
import type { StateReader, StateWriter } from './module.ts';

export class StateOverlay implements StateWriter {
  readonly #base: StateReader;
  /** The base's values read so far (absent ones as `undefined`), when reads are remembered. */
  readonly #read: Map<string, Json | undefined> | undefined;
  readonly writes = new Map<string, Json>();
  /**
   * `rememberReads`: keep what the base returned, for a base that does not change while this
   * overlay lives (a block's execution over the committed store). A block's transactions read the
   * same few records again and again — the acting party, the template, the provider — and the store
   * parses each read afresh. Values are shared, as written values already are: nobody mutates them.
   */
  constructor(base: StateReader, options: { rememberReads?: boolean } = {}) {
    this.#base = base;
    this.#read = options.rememberReads ? new Map() : undefined;
  }
  get(key: string): Json | undefined {
    if (this.writes.has(key)) return this.writes.get(key);
    const read = this.#read;
    if (read === undefined) return this.#base.get(key);
    if (read.has(key)) return read.get(key);
    const value = this.#base.get(key);
    read.set(key, value);
    return value;
  }
  /** Takes ownership of `value`: a module must not mutate it after setting it. */
  set(key: string, value: Json): void {
    this.writes.set(key, value);
  }
  /** Moves this overlay's writes into `target`. */
  mergeInto(target: StateOverlay): void {
    for (const [k, v] of this.writes) target.writes.set(k, v);
  }
}

/**
 * An in-memory state with its state tree, for replaying a chain without a store (`tillid chain
 * verify`) and for tests.
 */
export class MemoryState implements StateReader, TreePageReader {
  readonly #values = new Map<string, Json>();
  readonly #pages = new Map<string, Uint8Array>();
  readonly #rootRecords = new Map<Hex, string>();
  #root: Hex = EMPTY_ROOT;
  #tree: TreeNode | undefined;
  get(key: string): Json | undefined {
    return this.#values.get(key);
  }
  treePage(id: string): Uint8Array | undefined {
    return this.#pages.get(id);
  }
  rootRecord(root: Hex): string | undefined {
    return this.#rootRecords.get(root);
  }
  treeRoot(root: Hex): TreeNode | undefined {
    return root === this.#root ? this.#tree : undefined;
  }
  /** The stored pages (record ids), for tests of what storage holds. */
  pageHashes(): string[] {
    return [...this.#pages.keys()];
  }
  /** The root of the tree over everything applied so far. */
  get root(): Hex {
    return this.#root;
  }
  /**
   * Applies a block's writes. `tree` is the block's execution result (its root, new pages and
   * tree in memory); without it the tree is updated here.
   */
  apply(
    writes: ReadonlyMap<string, Json>,
    tree?: { root: Hex; pages: ReadonlyMap<string, Uint8Array>; tree?: TreeNode; rootRecord?: string },
  ): void {
    for (const [k, v] of writes) this.#values.set(k, v);
    const update = tree ?? updateTree(this, this.#root, writes);
    for (const [h, n] of update.pages) this.#pages.set(h, n);
    if (update.rootRecord !== undefined && update.rootRecord !== update.root)
      this.#rootRecords.set(update.root, update.rootRecord);
    this.#root = update.root;
    this.#tree = update.tree;
  }
}
