/**
 * The chain as the consensus engine sees it: getValue() is chain.propose over the mempool, valid(v)
 * is chain.validate. The execution computed either way is kept, so committing a decided block does
 * not execute it a third time.
 */
import type { Chain } from '../../chain/chain.ts';
import type { Mempool } from '../../mempool/mempool.ts';
import { type Block, blockHash } from '../../protocol/block.ts';
import type { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import type { Execution } from '../../state/machine.ts';
import type { ConsensusApplication } from './engine.ts';

export interface ChainApplicationOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  /** This authority's public key, written into the blocks it proposes. */
  readonly proposer: Hex;
  /** ms since the epoch; the simulator's virtual clock or Date.now. */
  readonly now: () => number;
  /** Told about transactions a proposal left out for good (expired, already on chain, …). */
  readonly onDropped?: (hash: Hex, error: TillidError) => void;
}

/** How far ahead of a voter's clock a proposed block's timestamp may be. */
export const MAX_CLOCK_DRIFT_MS = 10_000;

/**
 * How much a proposal carries, in transaction bytes. A proposal must reach every authority and be
 * executed by each within the propose timeout; under a backlog, blocks of several MB (5,000
 * contract transactions) did not, every round timed out and the next proposer tried the same —
 * the network stalled with transactions pending for minutes. 1 MiB is about 1,000 contract or
 * 2,500 anchor transactions. A proposer's choice, not a rule of the chain: validators accept any
 * block within `maxBlockTransactions`.
 */
export const MAX_PROPOSAL_BYTES = 1024 * 1024;

export class ChainApplication implements ConsensusApplication {
  readonly #o: ChainApplicationOptions;
  /** Executions of blocks proposed or validated on top of the current head, by block hash. */
  readonly #executions = new Map<Hex, { parent: Hex; execution: Execution }>();

  constructor(options: ChainApplicationOptions) {
    this.#o = options;
  }

  authoritiesAt(height: number): readonly Hex[] {
    return this.#o.chain.authoritiesAt(height);
  }

  proposeBlock(height: number, _round: number): Block {
    const { chain, mempool } = this.#o;
    const head = chain.head;
    if (height !== head.height + 1) throw new Error(`cannot propose height ${height} on head ${head.height}`);
    // Block time must increase strictly even if our clock lags the previous proposer's.
    const timestamp = Math.max(this.#o.now(), head.timestamp + 1);
    const candidates = mempool.peek(chain.rules.params.maxBlockTransactions, MAX_PROPOSAL_BYTES);
    const { block, execution } = chain.propose(candidates, timestamp, this.#o.proposer);
    // What no block may hold (expired, already on chain) will never be includable: forget it.
    mempool.remove(
      execution.dropped.map((d) => d.item.hash),
      false,
    );
    for (const { item, error } of execution.dropped) this.#o.onDropped?.(item.hash, error);
    mempool.proposed(execution.included.map((t) => t.hash));
    this.#executions.set(blockHash(block.header), { parent: head.hash, execution });
    return block;
  }

  isValidBlock(block: Block): boolean {
    // Block time drives the application's due dates, so a proposer may not run ahead of the
    // clocks of the authorities voting on it. A vote decision, not a rule of the chain: a block
    // already finalized is checked by sync without it.
    if (block.header.timestamp > this.#o.now() + MAX_CLOCK_DRIFT_MS) return false;
    const hash = blockHash(block.header);
    const known = this.#executions.get(hash);
    if (known) return known.parent === this.#o.chain.head.hash;
    try {
      const execution = this.#o.chain.validate(block);
      this.#executions.set(hash, { parent: this.#o.chain.head.hash, execution });
      this.#o.mempool.proposed(execution.included.map((t) => t.hash));
      return true;
    } catch {
      // BlockInvalidError, but also anything a hostile block makes validation throw: a block we
      // cannot execute is a block we must not vote for.
      return false;
    }
  }

  /** The execution to commit `block` with: remembered if we proposed or validated it, else computed. */
  executionOf(block: Block): Execution {
    const known = this.#executions.get(blockHash(block.header));
    if (known && known.parent === this.#o.chain.head.hash) return known.execution;
    return this.#o.chain.validate(block);
  }

  /** Called after a commit: executions on older heads can never be committed now. */
  committed(): void {
    const head = this.#o.chain.head.hash;
    for (const [hash, entry] of this.#executions) if (entry.parent !== head) this.#executions.delete(hash);
  }
}
