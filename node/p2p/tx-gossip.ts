/**
 * Transactions over gossip: relaying admitted transactions to peers in batches, and judging the
 * batches peers send. Every authority's mempool must hold a transaction, whoever proposes next.
 */

import { monotonic, type StageClock, type TxStageObserver } from '../mempool/stages.ts';
import { isTillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Gossip, Judgement } from './gossip.ts';

const TX_GOSSIP_BATCH = 500;
const TX_GOSSIP_DELAY_MS = 10;
/**
 * Admissions waiting for the main thread beyond which peers' batches are ignored (not forwarded,
 * no blame): the node is behind, and taking more would only delay consensus messages further. The
 * transactions are not lost: the node that admitted them keeps them for its own proposals, and
 * this node validates them inside blocks like any other.
 */
export const MAX_ADMISSION_BACKLOG = 4 * TX_GOSSIP_BATCH;
/** Admission outcomes that say nothing bad about the peer that relayed the transaction. */
const BLAMELESS = new Set(['TX_DUPLICATE', 'MEMPOOL_FULL', 'TX_EXPIRED', 'TX_EXPIRY_TOO_FAR']);

export interface TxGossipComponents {
  readonly gossip: Pick<Gossip, 'on' | 'publish'>;
  /**
   * Admission, exactly as for a transaction submitted to this node; throws a TillidError.
   * `arrivedAt` (the stage clock) is when the batch holding it arrived.
   */
  readonly admit: (input: unknown, arrivedAt: number) => Promise<Hex>;
  /** Admissions waiting for their turn (TransactionIntake.backlog); none if absent. */
  readonly backlog?: () => number;
  /** Receives `gossip_send` (stages.ts). */
  readonly stages?: TxStageObserver;
  readonly clock?: StageClock;
}

export class TxGossip {
  readonly #gossip: TxGossipComponents['gossip'];
  readonly #admit: TxGossipComponents['admit'];
  readonly #backlog: () => number;
  readonly #stages: TxStageObserver | undefined;
  readonly #clock: StageClock;
  #outbox: unknown[] = [];
  /** When each transaction in the outbox was queued (stage clock), while stages are observed. */
  #queuedAt: number[] = [];
  #outboxTimer: NodeJS.Timeout | undefined;

  constructor({ gossip, admit, backlog, stages, clock }: TxGossipComponents) {
    this.#gossip = gossip;
    this.#admit = admit;
    this.#backlog = backlog ?? (() => 0);
    this.#stages = stages;
    this.#clock = clock ?? monotonic;
    gossip.on('tx', { validate: (input) => this.#judgeBatch(input), deliver: () => {} });
  }

  /**
   * Queues an admitted transaction for gossip. Transactions leave in batches, at most every
   * TX_GOSSIP_DELAY_MS: one gossip message per transaction cost each node more in libp2p framing,
   * encryption and socket writes than in verifying the transaction (profiled with bench:network).
   */
  relay(tx: unknown): void {
    this.#outbox.push(tx);
    if (this.#stages) this.#queuedAt.push(this.#clock());
    if (this.#outbox.length >= TX_GOSSIP_BATCH) this.#flush();
    else this.#outboxTimer ??= setTimeout(() => this.#flush(), TX_GOSSIP_DELAY_MS);
  }

  /** Sends what is queued, so nothing admitted here is lost to peers on shutdown. */
  stop(): void {
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#outboxTimer);
    this.#outboxTimer = undefined;
    if (this.#outbox.length === 0) return;
    const transactions = this.#outbox;
    this.#outbox = [];
    if (this.#stages) {
      const now = this.#clock();
      for (const at of this.#queuedAt) this.#stages.observe('gossip_send', (now - at) / 1000);
      this.#queuedAt = [];
    }
    void this.#gossip.publish('tx', { transactions });
  }

  /**
   * Gossip validation of a batch of transactions: each is admitted as if submitted here. A batch
   * is rejected (and counts against its sender) only when it holds a transaction that no honest
   * node would have admitted — malformed, badly signed, carrying personal data. Duplicates, a full
   * mempool and expiry (clocks differ) are nobody's fault and are ignored.
   */
  async #judgeBatch(input: unknown): Promise<Judgement<null>> {
    const transactions = (input as { transactions?: unknown })?.transactions;
    if (!Array.isArray(transactions) || transactions.length === 0 || transactions.length > TX_GOSSIP_BATCH) {
      return { verdict: 'reject', reason: 'not a transaction batch' };
    }
    if (this.#backlog() > MAX_ADMISSION_BACKLOG) return { verdict: 'ignore', reason: 'admission backlog' };
    const arrivedAt = this.#clock();
    // Admitted together, so their signatures are verified in batches on the verifier threads.
    const outcomes = await Promise.all(
      transactions.map((tx) =>
        this.#admit(tx, arrivedAt).then(
          () => 'ADMITTED',
          (e) => (isTillidError(e) ? e.code : 'TX_MALFORMED'),
        ),
      ),
    );
    const blamed = outcomes.find((code) => code !== 'ADMITTED' && !BLAMELESS.has(code));
    if (blamed) return { verdict: 'reject', reason: blamed };
    return outcomes.includes('ADMITTED')
      ? { verdict: 'accept', value: null }
      : { verdict: 'ignore', reason: 'nothing new' };
  }
}
