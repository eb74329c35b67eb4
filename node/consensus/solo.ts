/**
 * Single-authority block production: one authority proposes, executes and signs every block, and
 * its own signature is the commit certificate (one of one is more than two thirds). It is what a
 * municipality's local chain runs, and it drives the chain through the same propose → certify →
 * commit steps the consortium consensus uses.
 */
import type { Logger } from 'pino';
import type { Chain } from '../chain/chain.ts';
import type { Mempool } from '../mempool/mempool.ts';
import { type Block, blockHash, type CommitCertificate, commitDigest } from '../protocol/block.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { type MessageSigner, signingMessage } from '../protocol/signature.ts';
import type { Consensus } from './consensus.ts';
import { HeightPacing } from './pacing.ts';
import { realTimers } from './real-timers.ts';

export interface SoloOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly signer: MessageSigner;
  readonly blockIntervalMs: number;
  /** With an empty mempool, how long to wait before an empty block; defaults to blockIntervalMs. */
  readonly emptyBlockIntervalMs?: number;
  /** Wall clock for block timestamps; only the proposer reads it. */
  readonly now: () => number;
  readonly log: Logger;
  /** Told about candidates left out of a block (expired, duplicate, …). */
  readonly onDropped: (hash: Hex, error: TillidError) => void;
}

export class SoloAuthority implements Consensus {
  readonly #o: SoloOptions;
  readonly #timers: ReturnType<typeof realTimers>;
  /** When the next block is due: the same pacing the consortium host uses (pacing.ts). */
  readonly #pacing: HeightPacing;
  #producing: Promise<void> | undefined;
  #stopped = true;

  constructor(options: SoloOptions) {
    const authorities = options.chain.authoritiesAt(options.chain.head.height + 1);
    if (authorities.length !== 1 || authorities[0] !== options.signer.publicKey) {
      throw new Error(
        authorities.length !== 1
          ? `the chain has ${authorities.length} authorities: give this node a p2p section in its config (tillid network init writes one)`
          : `this node's key ${options.signer.publicKey.slice(0, 16)}… is not the chain's authority; check keyFile in the config`,
      );
    }
    this.#o = options;
    this.#timers = realTimers(options.now);
    this.#pacing = new HeightPacing(
      this.#timers,
      options.blockIntervalMs,
      options.emptyBlockIntervalMs ?? options.blockIntervalMs,
      () => this.#next(),
    );
  }

  start(): void {
    this.#stopped = false;
    // As if a block had just been made: the first comes after the block interval, or after the
    // empty-block interval when there is nothing to include.
    this.#afterBlock();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pacing.clear();
    this.#timers.clearAll();
    await this.#producing;
  }

  /**
   * Called when transactions arrive: a full block's worth is produced without waiting, and an
   * idle wait for the empty-block interval ends one block interval after the last block.
   */
  transactionsArrived(): void {
    if (this.#producing || this.#stopped) return;
    if (this.#o.mempool.size >= this.#o.chain.rules.params.maxBlockTransactions) this.#pacing.startNow();
    else this.#pacing.wake();
  }

  async #next(): Promise<void> {
    if (this.#stopped) return;
    this.#producing = this.#produce();
    await this.#producing;
    this.#producing = undefined;
    if (!this.#stopped) this.#afterBlock();
  }

  #afterBlock(): void {
    this.#pacing.afterCommit(this.#o.mempool.size, this.#o.chain.rules.params.maxBlockTransactions);
  }

  async #produce(): Promise<void> {
    const { chain, mempool, signer, log } = this.#o;
    try {
      const timestamp = Math.max(this.#o.now(), chain.head.timestamp + 1);
      const candidates = mempool.peek(chain.rules.params.maxBlockTransactions);
      const { block, execution } = chain.propose(candidates, timestamp, signer.publicKey);
      const certified: Block = { ...block, certificate: this.#certify(block) };
      await chain.commit(certified, execution);
      mempool.remove(execution.included.map((t) => t.hash));
      mempool.remove(execution.dropped.map((d) => d.item.hash));
      for (const { item, error } of execution.dropped) this.#o.onDropped(item.hash, error);
    } catch (e) {
      // A failed commit (disk full, store closed) leaves the head unchanged; the next tick retries.
      log.error({ err: e }, 'block production failed');
    }
  }

  #certify(block: Block): CommitCertificate {
    const hash = blockHash(block.header);
    const { chainId, height } = block.header;
    const signature = this.#o.signer.sign(signingMessage('commit', commitDigest(chainId, height, 0, hash)));
    return {
      height,
      round: 0,
      blockHash: hash,
      signatures: [{ authority: this.#o.signer.publicKey, signature }],
    };
  }
}
