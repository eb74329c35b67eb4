/**
 * What the node has been doing, for operators: per-commit metrics (height, block interval,
 * transactions, payment decisions), readiness (are blocks being finalized?) and a one-line summary
 * in the log every minute.
 */
import type { Chain } from '../chain/chain.ts';
import type { Logger } from '../log.ts';
import type { Mempool } from '../mempool/mempool.ts';
import { blockEvents } from '../state/queries.ts';
import type { NodeMetrics } from './metrics.ts';

const SUMMARY_INTERVAL_MS = 60_000;

export interface ActivityComponents {
  readonly chain: Pick<Chain, 'head' | 'onCommit'>;
  readonly mempool: Pick<Mempool, 'size'>;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  /** The configured pace, from which "too long without a block" follows. */
  readonly config: { readonly blockIntervalMs: number; readonly emptyBlockIntervalMs: number };
}

export class ChainActivity {
  readonly #c: ActivityComponents;
  readonly #startedAt = performance.now();
  #lastBlockAt: number | undefined;
  #finalizedSinceSummary = 0;
  #summary: NodeJS.Timeout | undefined;

  constructor(components: ActivityComponents) {
    this.#c = components;
    const { chain, metrics } = components;
    metrics.height.set(chain.head.height);
    metrics.finalizedHeight.set(chain.head.height);
    chain.onCommit(({ block, execution }) => {
      this.#observeCommit(block.header.height, block.transactions.length);
      metrics.countPaymentDecisions(blockEvents(execution.writes, block.header.height));
    });
  }

  start(): void {
    this.#summary = setInterval(() => this.#logSummary(), SUMMARY_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.#summary);
  }

  /**
   * Ready means blocks are being finalized: a node whose store has failed (disk full, say) keeps
   * answering reads but drops out of a load balancer's rotation.
   */
  producing(): boolean {
    const last = this.#lastBlockAt ?? this.#startedAt;
    const { blockIntervalMs, emptyBlockIntervalMs } = this.#c.config;
    return performance.now() - last < Math.max(5 * blockIntervalMs, 2 * emptyBlockIntervalMs, 5000);
  }

  /** One line a minute that says the node is alive and what it did, for whoever reads logs at 3 a.m. */
  #logSummary(): void {
    this.#c.log.info(
      {
        height: this.#c.chain.head.height,
        finalizedLastMinute: this.#finalizedSinceSummary,
        mempool: this.#c.mempool.size,
        producing: this.producing(),
      },
      'summary',
    );
    this.#finalizedSinceSummary = 0;
  }

  #observeCommit(height: number, transactions: number): void {
    const { metrics, log } = this.#c;
    const now = performance.now();
    if (this.#lastBlockAt !== undefined) metrics.blockInterval.observe((now - this.#lastBlockAt) / 1000);
    this.#lastBlockAt = now;
    metrics.height.set(height);
    metrics.finalizedHeight.set(height);
    metrics.transactionsFinalized.inc(transactions);
    this.#finalizedSinceSummary += transactions;
    metrics.blockTransactions.observe(transactions);
    log.debug({ height, transactions }, 'block finalized');
  }
}
