/**
 * The chain: a durable sequence of finalized blocks and the state they produce. It builds, checks
 * and commits blocks but does not decide which block comes next; that is the consensus layer's job
 * (consensus/solo.ts for one authority), so consensus can change without touching this file.
 */
import { type Block, certificateProblem } from '../protocol/block.ts';
import type { Authority, Genesis } from '../protocol/genesis.ts';
import { genesisHash } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import { merkleRoot } from '../protocol/merkle.ts';
import { EMPTY_ROOT, type TreeNode } from '../state/commitment/tree.ts';
import {
  BlockInvalidError,
  type Execution,
  executeBlock,
  type HashedTransaction,
  type Receipt,
  type Rules,
  receiptKey,
} from '../state/machine.ts';
import type { ModuleRegistry } from '../state/module.ts';
import { authoritiesAt, authoritySchedule, SCHEDULE_KEY } from '../state/modules/governance.ts';
import { PinnedPaths, type PruneStep, pruneHeight } from './pruning.ts';
import { type ChainStorage, ChainStore, type Head } from './store.ts';
import { headOf, validateBlock } from './validation.ts';

export interface CommittedBlock {
  readonly block: Block;
  readonly execution: Execution;
}

export interface ChainOptions {
  /**
   * Heights of old state trees to keep (node/chain/pruning.ts): proofs stay possible at the last
   * `stateRetention` + 1 heights, older versions are deleted. Absent: every version is kept.
   */
  readonly stateRetention?: number;
}

export class Chain {
  readonly genesis: Genesis;
  readonly genesisHash: Hex;
  readonly rules: Rules;
  readonly #store: ChainStorage;
  readonly #retention: number | undefined;
  readonly #pinned = new PinnedPaths(SCHEDULE_KEY);
  /** The state root under each header an authority change's proof cites, by height. */
  readonly #pinnedRoots = new Map<number, Hex>();
  #head: Head;
  #committing = false;
  readonly #listeners: ((committed: CommittedBlock) => void)[] = [];

  private constructor(
    store: ChainStorage,
    genesis: Genesis,
    rules: Rules,
    head: Head,
    options: ChainOptions,
  ) {
    this.#store = store;
    this.genesis = genesis;
    this.genesisHash = genesisHash(genesis);
    this.rules = rules;
    this.#head = head;
    this.#retention = options.stateRetention;
  }

  /**
   * Opens (or creates) the store in `dataDir` for `genesis`. Refuses a store that belongs to
   * another genesis: mixing chains in one directory is never what an operator meant.
   */
  static async open(
    dataDir: string,
    genesis: Genesis,
    modules: ModuleRegistry,
    verdicts?: Pick<Rules, 'signatureValid' | 'cosignatureValid' | 'checkedPayloads'>,
    options: ChainOptions = {},
  ): Promise<Chain> {
    return Chain.openStorage(await ChainStore.open(dataDir), genesis, modules, verdicts, options);
  }

  /** Opens the chain on any storage (in memory for the simulator). */
  static async openStorage(
    store: ChainStorage,
    genesis: Genesis,
    modules: ModuleRegistry,
    verdicts?: Pick<Rules, 'signatureValid' | 'cosignatureValid' | 'checkedPayloads'>,
    options: ChainOptions = {},
  ): Promise<Chain> {
    const r = options.stateRetention;
    if (r !== undefined && !(Number.isInteger(r) && r >= 1))
      throw new Error('stateRetention must be a whole number of heights, at least 1');
    const expected = genesisHash(genesis);
    const stored = store.genesisHash();
    if (stored === undefined) await store.setGenesisHash(expected);
    else if (stored !== expected) {
      await store.close();
      throw new Error(`the store belongs to genesis ${stored}, not ${expected}`);
    }
    const rules: Rules = {
      chainId: genesis.chainId,
      params: genesis.params,
      modules,
      ...verdicts,
      committedState: store,
    };
    const head = store.head() ?? genesisHead(genesis);
    return new Chain(store, genesis, rules, head, options);
  }

  get head(): Head {
    return this.#head;
  }

  /**
   * The authorities whose signatures finalize the block at `height`, from the membership schedule
   * in state. Known for the head's next heights; earlier heights are asked of a replay (verify.ts).
   */
  authoritiesAt(height: number): Hex[] {
    return this.authorityRecordsAt(height).map((a) => a.publicKey);
  }

  authorityRecordsAt(height: number): readonly Authority[] {
    return authoritiesAt(this.#store, this.genesis, height);
  }

  /** Builds the next block from `candidates`; the result has no certificate yet. */
  propose(candidates: readonly HashedTransaction[], timestamp: number, proposer: Hex): CommittedBlock {
    const parent = this.#head;
    const ctx = { chainId: this.rules.chainId, height: parent.height + 1, timestamp, proposer };
    const limited = candidates.slice(0, this.rules.params.maxBlockTransactions);
    const execution = executeBlock(this.#store, parent.stateRoot, limited, ctx, this.rules, 'propose');
    const header = {
      ...ctx,
      parentHash: parent.hash,
      txRoot: merkleRoot(execution.included.map((t) => t.hash)),
      stateRoot: execution.stateRoot,
    };
    const block: Block = { header, transactions: execution.included.map((t) => t.tx), certificate: null };
    return { block, execution };
  }

  /** Checks a proposed block against the head; throws BlockInvalidError. */
  validate(block: Block): Execution {
    return validateBlock(this.#head, block, this.#store, this.rules, this.authoritiesAt(block.header.height));
  }

  /** Makes a certified block durable and the new head. */
  async commit(block: Block, execution: Execution): Promise<void> {
    if (this.#committing) throw new Error('commit already in progress');
    const problem = certificateProblem(
      block.certificate,
      block.header,
      this.authoritiesAt(block.header.height),
    );
    if (problem) throw new BlockInvalidError(problem);
    if (block.header.parentHash !== this.#head.hash)
      throw new BlockInvalidError('block does not extend the head');
    this.#committing = true;
    try {
      const head = headOf(block);
      await this.#store.commit(
        block,
        execution.writes,
        head,
        {
          pages: execution.treePages,
          replaced: execution.replacedTreePages ?? [],
          ...(execution.treeRootRecord === undefined ? {} : { rootRecord: execution.treeRootRecord }),
          ...(execution.tree ? { tree: execution.tree } : {}),
        },
        await this.#pruneStep(head.height),
      );
      this.#head = head;
    } finally {
      this.#committing = false;
    }
    for (const listener of this.#listeners) listener({ block, execution });
  }

  /** The lowest height whose state can still be proven (1 unless pruned). */
  get provableFrom(): number {
    return this.#store.provableFrom();
  }

  /**
   * With pruning on, what the commit of `height` prunes: the stale list due, sparing the paths of
   * the authority schedule under each header a proven read's `authorityChanges` cites (prove.ts).
   */
  async #pruneStep(height: number): Promise<PruneStep | undefined> {
    if (this.#retention === undefined) return undefined;
    const due = pruneHeight(height, this.#retention);
    if (due === undefined) return { keep: new Set() };
    const roots: Hex[] = [];
    for (const entry of authoritySchedule(this.#store, this.genesis)) {
      const at = entry.fromHeight - 1;
      if (at < 1 || at > this.#head.height) continue;
      let root = this.#pinnedRoots.get(at);
      if (root === undefined) {
        root = (await this.#store.getBlock(at))?.header.stateRoot;
        if (root !== undefined) this.#pinnedRoots.set(at, root);
      }
      if (root !== undefined) roots.push(root);
    }
    return { height: due, keep: this.#pinned.records(this.#store, roots) };
  }

  onCommit(listener: (committed: CommittedBlock) => void): void {
    this.#listeners.push(listener);
  }

  receipt(txHash: Hex): Receipt | undefined {
    return this.#store.get(receiptKey(txHash)) as Receipt | undefined;
  }

  readState(key: string) {
    return this.#store.get(key);
  }

  /** A stored page of the state tree (state/commitment/pages.ts), for proofs. */
  treePage(id: string): Uint8Array | undefined {
    return this.#store.treePage(id);
  }

  /** The id of the record a root heads, when it is keyed by height (state/commitment/pages.ts). */
  rootRecord(root: Hex): string | undefined {
    return this.#store.rootRecord(root);
  }

  /** The tree under `root` in memory, when the store holds it (the recent heads'). */
  treeRoot(root: Hex): TreeNode | undefined {
    return this.#store.treeRoot(root);
  }

  async block(height: number): Promise<Block | undefined> {
    if (height < 1 || height > this.#head.height) return undefined;
    return this.#store.getBlock(height);
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}

/** The head before block 1: the genesis hash is the parent hash, the state is empty. */
export function genesisHead(genesis: Genesis): Head {
  const hash = genesisHash(genesis);
  return { height: 0, hash, stateRoot: EMPTY_ROOT, timestamp: genesis.genesisTime };
}
