/**
 * Finality as the gateway reports it: a transaction is final when a block holding it carries a
 * valid commit certificate — more than two thirds of the authorities in force at that height,
 * checked here with the node's own `certificateProblem`, not taken from a node's word. The
 * watcher follows finalized blocks from whichever node answers, verifies each block's
 * certificate, and settles the waiters whose transactions it finds with the chain's verdict on
 * each (finalized, or rejected by its module with a code), read from the node's receipts of that
 * block.
 *
 * The authority set comes from `GET /v1/authorities`. When the gateway has the genesis
 * (`genesisFile`), the schedule must start with the genesis authorities; later membership changes
 * are taken from the node's schedule (see the report: a signed schedule would close that gap).
 */
import { type Block, blockHash, certificateProblem, decodeBlock } from '../node/protocol/block.ts';
import type { Genesis } from '../node/protocol/genesis.ts';
import type { Hex } from '../node/protocol/hash.ts';
import { transactionHash } from '../node/protocol/transaction.ts';
import { GatewayError } from './errors.ts';
import type { NodeRouter } from './routing.ts';

export interface TransactionOutcome {
  readonly hash: Hex;
  readonly status: 'pending' | 'finalized' | 'rejected';
  readonly height?: number;
  readonly code?: string;
  readonly message?: string;
  readonly index?: number;
  /** The verified block that holds the transaction, when the gateway checked its certificate. */
  readonly block?: { readonly height: number; readonly hash: Hex; readonly signatures: number };
}

interface ScheduledSet {
  readonly fromHeight: number;
  readonly authorities: readonly { readonly publicKey: Hex }[];
}

export class CertificateVerifier {
  readonly #router: NodeRouter;
  readonly #genesis: Genesis | undefined;
  #schedule: readonly ScheduledSet[] | undefined;
  #fetchedAt = 0;

  constructor(router: NodeRouter, genesis?: Genesis) {
    this.#router = router;
    this.#genesis = genesis;
  }

  async #authoritiesAt(cvr: string, height: number, refresh: boolean): Promise<Hex[]> {
    if (!this.#schedule || refresh || Date.now() - this.#fetchedAt > 60_000) {
      const body = await this.#router.get<{ schedule: ScheduledSet[] }>(cvr, '/v1/authorities');
      const schedule = body?.schedule;
      if (!Array.isArray(schedule) || schedule.length === 0)
        throw new GatewayError('CHAIN_UNVERIFIED', 'the node serves no authority schedule');
      if (this.#genesis) {
        const first = (schedule[0] as ScheduledSet).authorities.map((a) => a.publicKey).join();
        if (first !== this.#genesis.authorities.map((a) => a.publicKey).join())
          throw new GatewayError(
            'CHAIN_UNVERIFIED',
            "the node's authority set does not start at the trusted genesis",
          );
      }
      this.#schedule = schedule;
      this.#fetchedAt = Date.now();
    }
    let current: readonly { publicKey: Hex }[] = [];
    for (const entry of this.#schedule) if (entry.fromHeight <= height) current = entry.authorities;
    return current.map((a) => a.publicKey);
  }

  /** Throws CHAIN_UNVERIFIED unless `block` carries a valid commit certificate for its height. */
  async verify(cvr: string, block: Block): Promise<void> {
    let problem = certificateProblem(
      block.certificate,
      block.header,
      await this.#authoritiesAt(cvr, block.header.height, false),
    );
    // A membership change may be newer than the schedule held: fetch it once more before refusing.
    if (problem)
      problem = certificateProblem(
        block.certificate,
        block.header,
        await this.#authoritiesAt(cvr, block.header.height, true),
      );
    if (problem) throw new GatewayError('CHAIN_UNVERIFIED', `block ${block.header.height}: ${problem}`);
    // Later proven reads must be at least this fresh (routing.ts): a caller told "final at h" reads h.
    this.#router.proofs?.certified(block.header.height);
  }

  /**
   * Fetches the block at `height` (or the latest) and verifies its certificate. A node that serves
   * a malformed block, or one whose certificate fails, is refused like a proven read that does not
   * verify (counted, marked down) and the next node is asked: one lying node must not stop finality.
   */
  async certifiedBlock(cvr: string, height: number | 'latest'): Promise<Block & { hash: Hex }> {
    let block: Block | undefined;
    const raw = await this.#router.get<unknown>(cvr, `/v1/blocks/${height}`, {
      what: 'block',
      verify: async (body) => {
        let decoded: Block;
        try {
          decoded = decodeBlock(body);
        } catch (e) {
          return `a malformed block: ${(e as Error).message}`;
        }
        if (height !== 'latest' && decoded.header.height !== height)
          return `block ${decoded.header.height} served for height ${height}`;
        try {
          await this.verify(cvr, decoded);
        } catch (e) {
          if (e instanceof GatewayError && e.code === 'CHAIN_UNVERIFIED') return e.message;
          throw e;
        }
        block = decoded;
        return undefined;
      },
    });
    if (raw === undefined || block === undefined) throw new GatewayError('NOT_FOUND', `no block ${height}`);
    return { ...block, hash: blockHash(block.header) };
  }
}

/** `GET /v1/blocks/:height/receipts`: the chain's verdict on each transaction of a final block. */
interface BlockReceipts {
  readonly height: number;
  readonly hash: Hex;
  readonly receipts: readonly { hash: Hex; index: number; code: string; message?: string }[];
}

interface Waiter {
  readonly cvr: string;
  readonly since: number;
  lastPolled: number;
  readonly resolve: (o: TransactionOutcome) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

const POLL_MS = 20;
/** A waiter not seen in a block this long is polled directly (it may have been dropped). */
const DIRECT_POLL_AFTER_MS = 2000;
/**
 * Blocks walked per tick before the direct poll gets its turn: a walk that never reaches the head
 * (it lags a fast chain) must not starve the poll that settles waiters beyond it.
 */
const WALK_PER_TICK = 20;

export class FinalityWatcher {
  readonly #router: NodeRouter;
  readonly #verifier: CertificateVerifier;
  readonly #waiters = new Map<Hex, Waiter>();
  #cursor: number | undefined;
  #running = false;

  constructor(router: NodeRouter, verifier: CertificateVerifier) {
    this.#router = router;
    this.#verifier = verifier;
  }

  /** The chain's verdict as the node reports it now (no waiting). */
  /**
   * Settles every waiter whose transaction block `height` holds. One request for the block's
   * receipts (the verdict on each of its transactions); when it holds a waited-for transaction the
   * block is fetched and its certificate verified, and the receipts must name exactly that block's
   * transactions, before any waiter is settled. False when the node has no such block yet.
   */
  async #settleFromBlock(cvr: string, height: number): Promise<boolean> {
    const receipts = await this.#router.get<BlockReceipts>(cvr, `/v1/blocks/${height}/receipts`);
    if (receipts === undefined) return false;
    if (!receipts.receipts.some((r) => this.#waiters.has(r.hash))) return true;
    const block = await this.#verifier.certifiedBlock(cvr, height);
    const held = block.transactions.map(transactionHash);
    if (
      receipts.height !== height ||
      receipts.hash !== block.hash ||
      receipts.receipts.length !== held.length ||
      receipts.receipts.some((r, i) => r.hash !== held[i] || r.index !== i)
    )
      throw new GatewayError(
        'CHAIN_UNVERIFIED',
        `the receipts served for block ${height} do not match its verified transactions`,
      );
    const summary = { height, hash: block.hash, signatures: block.certificate?.signatures.length ?? 0 };
    for (const r of receipts.receipts) {
      if (!this.#waiters.has(r.hash)) continue;
      this.#settle(
        r.hash,
        r.code === 'OK'
          ? { hash: r.hash, status: 'finalized', height, index: r.index, block: summary }
          : {
              hash: r.hash,
              status: 'rejected',
              height,
              index: r.index,
              code: r.code,
              ...(r.message !== undefined ? { message: r.message } : {}),
              block: summary,
            },
      );
    }
    return true;
  }

  async outcome(cvr: string, hash: Hex): Promise<TransactionOutcome | undefined> {
    return this.#router.get<TransactionOutcome>(cvr, `/v1/transactions/${hash}`);
  }

  /** Resolves once `hash` is finalized or rejected; FINALITY_TIMEOUT after `timeoutMs`. */
  wait(cvr: string, hash: Hex, timeoutMs: number): Promise<TransactionOutcome> {
    const existing = this.#waiters.get(hash);
    if (existing) return new Promise((resolve, reject) => this.#chain(existing, resolve, reject));
    const promise = new Promise<TransactionOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(hash);
        reject(
          new GatewayError('FINALITY_TIMEOUT', `not final within ${timeoutMs} ms; ask again later`, { hash }),
        );
      }, timeoutMs);
      this.#waiters.set(hash, { cvr, since: Date.now(), lastPolled: Date.now(), resolve, reject, timer });
    });
    if (!this.#running) void this.#run();
    return promise;
  }

  #chain(w: Waiter, resolve: (o: TransactionOutcome) => void, reject: (e: unknown) => void): void {
    const original = { resolve: w.resolve, reject: w.reject };
    Object.assign(w, {
      resolve: (o: TransactionOutcome) => {
        original.resolve(o);
        resolve(o);
      },
      reject: (e: unknown) => {
        original.reject(e);
        reject(e);
      },
    });
  }

  #settle(hash: Hex, outcome: TransactionOutcome): void {
    const w = this.#waiters.get(hash);
    if (!w) return;
    this.#waiters.delete(hash);
    clearTimeout(w.timer);
    w.resolve(outcome);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiters.size > 0) {
        try {
          await this.#tick();
        } catch {
          // A node failing mid-tick is retried on the next tick, through the router's failover.
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      this.#running = false;
      // After an idle spell start again near the head rather than walking every block since.
      this.#cursor = undefined;
    }
  }

  async #tick(): Promise<void> {
    const first = this.#waiters.values().next().value as Waiter | undefined;
    if (!first) return;
    if (this.#cursor === undefined) {
      const status = await this.#router.get<{ height: number; finalizedHeight?: number }>(
        first.cvr,
        '/v1/status',
      );
      if (!status) return;
      // Start a few blocks back from where we joined: a transaction may be in a block just committed.
      this.#cursor = Math.max(0, (status.finalizedHeight ?? status.height) - 3);
    }
    // A node serves only committed blocks: walk forward until the next height does not exist yet,
    // at most WALK_PER_TICK blocks a tick.
    for (let walked = 0; this.#waiters.size > 0 && walked < WALK_PER_TICK; walked++) {
      const height: number = (this.#cursor as number) + 1;
      if (!(await this.#settleFromBlock(first.cvr, height))) break;
      this.#cursor = height;
    }
    // Transactions refused before any block (expired, dropped) never appear in one: poll those.
    // So are those in blocks the walk has not reached: behind a node making blocks faster than it
    // reads them (100 ms empty blocks, a loaded host) the walk falls further behind every tick,
    // and a waiter beyond it timed out (FINALITY_TIMEOUT in the console's browser test).
    const now = Date.now();
    const stale = [...this.#waiters.entries()].filter(
      ([, w]) => now - w.since > DIRECT_POLL_AFTER_MS && now - w.lastPolled > 1000,
    );
    await Promise.all(
      stale.slice(0, 100).map(async ([hash, w]) => {
        w.lastPolled = now;
        const verdict = await this.outcome(w.cvr, hash).catch(() => undefined);
        if (verdict?.status === 'rejected' && verdict.height === undefined) this.#settle(hash, verdict);
        if (verdict?.status === 'pending' || verdict?.height === undefined) return;
        // In a block, by the node's word: that block is read as the walk reads one (its receipts,
        // proven where proofs are on, matched against its certified transactions), so the verdict
        // comes from the block, never from the node's answer alone.
        await this.#settleFromBlock(w.cvr, verdict.height);
      }),
    );
  }
}
