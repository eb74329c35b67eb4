/**
 * Copy-on-write state: reads fall through to a base, writes stay here until merged or dropped.
 * A block executes in one overlay over the store, each transaction in a child overlay, so a
 * rejected transaction leaves nothing behind.
 */
import type { Json } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import { EMPTY_ROOT, type EncodedNode, type TreeNodeReader, updateTree } from './commitment/tree.ts';
import type { StateReader, StateWriter } from './module.ts';

export class StateOverlay implements StateWriter {
  readonly #base: StateReader;
  readonly writes = new Map<string, Json>();
  constructor(base: StateReader) {
    this.#base = base;
  }
  get(key: string): Json | undefined {
    return this.writes.has(key) ? this.writes.get(key) : this.#base.get(key);
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
export class MemoryState implements StateReader, TreeNodeReader {
  readonly #values = new Map<string, Json>();
  readonly #nodes = new Map<Hex, EncodedNode>();
  #root: Hex = EMPTY_ROOT;
  get(key: string): Json | undefined {
    return this.#values.get(key);
  }
  treeNode(hash: Hex): EncodedNode | undefined {
    return this.#nodes.get(hash);
  }
  /** The root of the tree over everything applied so far. */
  get root(): Hex {
    return this.#root;
  }
  /**
   * Applies a block's writes. `tree` is the block's execution result (its root and new nodes);
   * without it the tree is updated here.
   */
  apply(writes: ReadonlyMap<string, Json>, tree?: { root: Hex; nodes: ReadonlyMap<Hex, EncodedNode> }): void {
    for (const [k, v] of writes) this.#values.set(k, v);
    const { root, nodes } = tree ?? updateTree(this, this.#root, writes);
    for (const [h, n] of nodes) this.#nodes.set(h, n);
    this.#root = root;
  }
}
