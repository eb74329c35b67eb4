/**
 * Transaction intake: every transaction, from a client or a peer, enters through `admit`. It runs
 * admission (admission.ts) in turns with the rest of the main thread (turns.ts), verifies
 * signatures on worker threads when there are workers, counts each outcome for the metrics, and
 * tells consensus that work has arrived.
 */
import type { Counter } from 'prom-client';
import type { Chain } from '../chain/chain.ts';
import { isTillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Transaction } from '../protocol/transaction.ts';
import type { VerifiedSignatures } from '../protocol/verdicts.ts';
import { admitTransaction } from './admission.ts';
import type { Mempool } from './mempool.ts';
import { monotonic, type StageClock, type TxStageObserver } from './stages.ts';
import { AdmissionTurns } from './turns.ts';
import type { VerifierPool } from './verifier-pool.ts';

export interface IntakeComponents {
  readonly chain: Pick<Chain, 'rules' | 'receipt'>;
  readonly mempool: Mempool;
  /** Verdicts already reached (shared with block validation, so nothing is verified twice). */
  readonly verified: VerifiedSignatures;
  /** Worker threads for signature checks; absent means verify on the main thread. */
  readonly verifierPool?: VerifierPool | undefined;
  /** Admission outcomes by `outcome` (ACCEPTED or the error code). */
  readonly metrics: { readonly admissions: Counter<'outcome'> };
  /** Called after each admission, so a waiting proposer can start a block (and a waiting proposal go on). */
  readonly transactionsArrived: (hash: Hex) => void;
  /** The node's clock; only admission reads it (expiry), blocks use their own timestamp. */
  readonly now: () => number;
  /** Turns on the main thread, so consensus messages never wait behind a whole batch (turns.ts). */
  readonly turns?: AdmissionTurns;
  /** Receives `admit` and `gossip_admit` (stages.ts). */
  readonly stages?: TxStageObserver;
  readonly clock?: StageClock;
}

/** Who handed the transaction in: a client of this node, or a peer by gossip. */
export type Origin = 'client' | 'peer';

export class TransactionIntake {
  readonly #c: IntakeComponents;
  readonly #turns: AdmissionTurns;

  constructor(components: IntakeComponents) {
    this.#c = components;
    this.#turns = components.turns ?? new AdmissionTurns();
  }

  /** Admissions waiting for their turn on the main thread (backpressure for gossip). */
  get backlog(): number {
    return this.#turns.waiting;
  }

  /**
   * Admits `input` into the mempool or throws a TillidError; resolves to its hash. `arrivedAt`
   * (the stage clock) is when it reached this node, if earlier than this call (a gossip batch).
   */
  async admit(input: unknown, origin: Origin = 'client', arrivedAt?: number): Promise<Hex> {
    const { chain, mempool, now, stages } = this.#c;
    const { admissions } = this.#c.metrics;
    const clock = this.#c.clock ?? monotonic;
    const started = arrivedAt ?? (stages ? clock() : 0);
    await this.#turns.take();
    try {
      const hash = await admitTransaction(input, {
        rules: chain.rules,
        mempool,
        receipt: (h) => chain.receipt(h),
        now,
        verify: (tx, h) => this.#verify(tx, h),
      });
      admissions.inc({ outcome: 'ACCEPTED' });
      stages?.observe(origin === 'peer' ? 'gossip_admit' : 'admit', (clock() - started) / 1000);
      this.#c.transactionsArrived(hash);
      return hash;
    } catch (e) {
      if (isTillidError(e)) admissions.inc({ outcome: e.code });
      throw e;
    }
  }

  /**
   * The signature rule alone, for a transaction a proposal named and this node fetched: the block's
   * validation applies every other rule at the block's time. The verdict is remembered, so block
   * validation does not verify it again.
   */
  signatureValid(tx: Transaction, hash: Hex): Promise<boolean> {
    return this.#verify(tx, hash);
  }

  /** The signature rule on a worker when there are workers; each verdict is remembered. */
  async #verify(tx: Transaction, hash: Hex): Promise<boolean> {
    const { verified, verifierPool } = this.#c;
    if (!verifierPool) return verified.valid(tx, hash);
    const valid = await verifierPool.verify(tx, hash);
    if (valid) verified.remember(hash, tx.signature);
    return valid;
  }
}
