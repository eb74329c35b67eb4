/**
 * Turning a compact proposal (compact-proposal.ts) back into the full one before the engine sees
 * it. Nearly always every named transaction is pending here already (transaction gossip got there
 * first) and the proposal is whole at once. Otherwise this node fetches exactly the ones it lacks
 * — from the proposer first, then from the peer that forwarded the proposal, then from others —
 * checks that each one hashes to a name it asked for and that its signature verifies, and only
 * then hands the proposal on. Until then the engine has no proposal, so if the transactions cannot
 * be had before its propose timeout it prevotes nil exactly as for a proposal that never came:
 * liveness is the engine's, unchanged.
 *
 * Everything a peer can make this node do is bounded: a proposal names at most a block's worth of
 * hashes (its decoder), only a proposal for the height being decided is fetched for (one for the
 * height after waits, without fetching, in a bounded list until the head moves; anything further
 * is not admitted at all), at most MAX_JOBS proposals are being completed at once, each asks at
 * most MAX_PEERS_ASKED peers, each request is bounded in size and time (p2p/tx-fetch.ts), and what
 * was fetched is forgotten when the head moves. A peer that answers with transactions not asked
 * for, malformed or badly signed ones changes nothing: it is counted and logged, and the next peer
 * is asked.
 */
import { monotonic, type StageClock, type TxStageObserver } from '../mempool/stages.ts';
import type { Hex } from '../protocol/hash.ts';
import { decodeTransaction, type Transaction } from '../protocol/transaction.ts';
import { type CompactProposal, fullProposal } from './compact-proposal.ts';
import type { Proposal } from './tendermint/messages.ts';

/** Proposals being completed at once: one per round of the current height is all an honest network sends. */
export const MAX_JOBS = 4;
/** Peers asked for one proposal's missing transactions before giving up on it. */
export const MAX_PEERS_ASKED = 3;
/**
 * Rounds past the engine's that a proposal may be for and still be completed (the engine buffers
 * as many per authority). A later one is dropped; if the network gets there, the stall re-send
 * brings it again.
 */
export const MAX_ROUNDS_AHEAD = 2;
/**
 * How long a proposal waits for missing transactions to arrive by gossip before fetching them.
 * Under load a proposal often overtakes the last gossip batch it names, which is still being
 * verified here; fetching those at once would send them twice and verify them twice.
 */
export const GOSSIP_GRACE_MS = 200;

/** local: all pending here at once; gossip: the rest arrived by gossip within the grace; fetched; failed. */
export type AssemblyOutcome = 'local' | 'gossip' | 'fetched' | 'failed';
export type FetchedOutcome = 'valid' | 'unasked' | 'malformed' | 'bad-signature';

export interface AssemblyPorts {
  /** A pending transaction by hash (the mempool). */
  pending(hash: Hex): Transaction | undefined;
  /** The chain's head height. */
  head(): number;
  /** The engine's round at the height after the head (0 when it has not started it). */
  round(): number;
  /** Peers to ask, best first: the proposer's own connection, then `from`, then the others. */
  peersFor(proposer: Hex, from: string): readonly string[];
  /** Asks `peer` for the transactions named by `hashes`; resolves to what it sent, unchecked. */
  fetch(peer: string, hashes: readonly Hex[]): Promise<unknown[]>;
  /** The signature rule, once per transaction (on a verifier thread where there is one). */
  signatureValid(tx: Transaction, hash: Hex): Promise<boolean>;
  /** The whole proposal, for the engine. */
  deliver(proposal: Proposal): void;
  assembled?(outcome: AssemblyOutcome): void;
  fetched?(outcome: FetchedOutcome, peer: string, count: number): void;
  failed?(peer: string, reason: string): void;
  /** Defaults to GOSSIP_GRACE_MS. */
  readonly graceMs?: number;
  /** Receives `assembly`: how long each delivered proposal took to be made whole (stages.ts). */
  readonly stages?: TxStageObserver;
  readonly clock?: StageClock;
}

interface Job {
  readonly proposal: CompactProposal;
  readonly from: string;
  /** When the proposal reached this node (stage clock). */
  readonly receivedAt: number;
}

const keyOf = (p: CompactProposal) => `${p.height}/${p.round}/${p.proposer}`;

export class ProposalAssembly {
  readonly #ports: AssemblyPorts;
  /** Transactions learnt by fetch for the current height, already checked; served to peers too. */
  readonly #fetched = new Map<Hex, Transaction>();
  /** Proposals being completed (fetching) or waiting for the head to move, by height/round/proposer. */
  readonly #jobs = new Map<string, Job>();
  /** The head at which #fetched was filled. */
  #head = -1;
  /** Jobs waiting for gossip to bring the hashes still missing, ended early when the last arrives. */
  readonly #waiters = new Set<{ key: string; missing: Set<Hex>; done: () => void }>();

  constructor(ports: AssemblyPorts) {
    this.#ports = ports;
  }

  /** Hands a whole proposal to the engine, timing its assembly from `receivedAt`. */
  #deliver(whole: Proposal, receivedAt: number): void {
    const { stages } = this.#ports;
    if (stages) stages.observe('assembly', ((this.#ports.clock ?? monotonic)() - receivedAt) / 1000);
    this.#ports.deliver(whole);
  }

  /** A transaction this node fetched for a pending proposal (peers may ask for it too). */
  held(hash: Hex): Transaction | undefined {
    return this.#fetched.get(hash);
  }

  /**
   * A transaction entered the mempool. A proposal waiting for it goes on as soon as its last
   * missing transaction is here, not at the next poll: under load this wait is on every
   * transaction's path to a block.
   */
  transactionArrived(hash: Hex): void {
    for (const waiter of this.#waiters)
      if (waiter.missing.delete(hash) && waiter.missing.size === 0) waiter.done();
  }

  /** Resolves when every hash in `missing` has arrived (transactionArrived), after `graceMs` at most, or once the job is gone. */
  #arrivalOf(key: string, missing: Set<Hex>, graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        key,
        missing,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, graceMs);
      this.#waiters.add(waiter);
    });
  }

  /** Ends the waits of jobs that were dropped (head moved, evicted), so nothing lingers. */
  #releaseDropped(): void {
    for (const waiter of this.#waiters) if (!this.#jobs.has(waiter.key)) waiter.done();
  }

  /** Proposals being completed or waiting, for tests and metrics. */
  get pending(): number {
    return this.#jobs.size;
  }

  /** An admitted compact proposal (shape, sender and signature already checked). */
  receive(proposal: CompactProposal, from: string): void {
    this.#forgetStale();
    const head = this.#ports.head();
    const key = keyOf(proposal);
    if (proposal.height <= head || this.#jobs.has(key)) return;
    const current = proposal.height === head + 1 ? this.#ports.round() : 0;
    if (proposal.round > current + MAX_ROUNDS_AHEAD) return;
    const receivedAt = this.#ports.stages ? (this.#ports.clock ?? monotonic)() : 0;
    const whole = this.#assemble(proposal);
    if (whole) {
      this.#ports.assembled?.('local');
      this.#deliver(whole, receivedAt);
      return;
    }
    if (this.#jobs.size >= MAX_JOBS) {
      // The oldest job gives way: later rounds are the ones the engine still needs.
      const oldest = this.#jobs.keys().next().value as string;
      this.#jobs.delete(oldest);
      this.#releaseDropped();
      this.#ports.assembled?.('failed');
    }
    this.#jobs.set(key, { proposal, from, receivedAt });
    if (proposal.height === head + 1) void this.#complete(key);
  }

  /** The head moved: start on proposals that waited for it, forget what is final. */
  headMoved(): void {
    this.#forgetStale();
    const next = this.#ports.head() + 1;
    for (const [key, job] of [...this.#jobs]) {
      if (job.proposal.height !== next) continue;
      const whole = this.#assemble(job.proposal);
      if (whole) {
        this.#jobs.delete(key);
        this.#ports.assembled?.('local');
        this.#deliver(whole, job.receivedAt);
      } else void this.#complete(key);
    }
  }

  #forgetStale(): void {
    const head = this.#ports.head();
    if (head === this.#head) return;
    this.#head = head;
    this.#fetched.clear();
    for (const [key, job] of this.#jobs) if (job.proposal.height <= head) this.#jobs.delete(key);
    this.#releaseDropped();
  }

  #lookup(hash: Hex): Transaction | undefined {
    return this.#ports.pending(hash) ?? this.#fetched.get(hash);
  }

  /** The full proposal if every transaction is here. */
  #assemble(p: CompactProposal): Proposal | undefined {
    const transactions: Transaction[] = [];
    for (const hash of p.txHashes) {
      const tx = this.#lookup(hash);
      if (!tx) return undefined;
      transactions.push(tx);
    }
    return fullProposal(p, transactions);
  }

  async #complete(key: string): Promise<void> {
    const job = this.#jobs.get(key);
    if (!job) return;
    const { proposal } = job;
    const missing = () => proposal.txHashes.some((h) => !this.#lookup(h));
    const awaited = new Set(proposal.txHashes.filter((h) => !this.#lookup(h)));
    if (awaited.size > 0) {
      await this.#arrivalOf(key, awaited, this.#ports.graceMs ?? GOSSIP_GRACE_MS);
      if (this.#jobs.get(key) !== job) return;
    }
    if (!missing()) {
      this.#jobs.delete(key);
      const whole = proposal.height === this.#ports.head() + 1 ? this.#assemble(proposal) : undefined;
      this.#ports.assembled?.(whole ? 'gossip' : 'failed');
      if (whole) this.#deliver(whole, job.receivedAt);
      return;
    }
    const asked = this.#ports.peersFor(proposal.proposer, job.from).slice(0, MAX_PEERS_ASKED);
    for (const peer of asked) {
      const missing = proposal.txHashes.filter((h) => !this.#lookup(h));
      if (missing.length === 0) break;
      let raw: unknown[];
      try {
        raw = await this.#ports.fetch(peer, missing);
      } catch (e) {
        this.#ports.failed?.(peer, (e as Error).message);
        continue;
      }
      // The job may have been dropped (head moved, or evicted) while we waited.
      if (this.#jobs.get(key) !== job) return;
      await this.#accept(raw, new Set(missing), peer);
      if (this.#jobs.get(key) !== job) return;
    }
    this.#jobs.delete(key);
    const whole = proposal.height === this.#ports.head() + 1 ? this.#assemble(proposal) : undefined;
    this.#ports.assembled?.(whole ? 'fetched' : 'failed');
    if (whole) this.#deliver(whole, job.receivedAt);
  }

  /** Keeps each transaction that was asked for, is well formed and is signed by its signer. */
  async #accept(raw: readonly unknown[], wanted: Set<Hex>, peer: string): Promise<void> {
    const counts: Record<FetchedOutcome, number> = { valid: 0, unasked: 0, malformed: 0, 'bad-signature': 0 };
    const candidates: { tx: Transaction; hash: Hex }[] = [];
    for (const input of raw) {
      let decoded: { tx: Transaction; hash: Hex };
      try {
        decoded = decodeTransaction(input);
      } catch {
        counts.malformed++;
        continue;
      }
      // The hash is of the transaction's body: a peer cannot pass off another transaction as one asked for.
      if (!wanted.delete(decoded.hash)) {
        counts.unasked++;
        continue;
      }
      candidates.push(decoded);
    }
    // Verified together, so the verifier threads take them in batches.
    const verdicts = await Promise.all(
      candidates.map(({ tx, hash }) => this.#ports.signatureValid(tx, hash)),
    );
    candidates.forEach(({ tx, hash }, i) => {
      if (!verdicts[i]) counts['bad-signature']++;
      else if (this.#ports.head() === this.#head) {
        counts.valid++;
        this.#fetched.set(hash, tx);
      }
    });
    for (const outcome of Object.keys(counts) as FetchedOutcome[])
      if (counts[outcome] > 0) this.#ports.fetched?.(outcome, peer, counts[outcome]);
  }
}
