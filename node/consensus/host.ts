/**
 * The consensus host: everything between the Tendermint engine (tendermint/engine.ts) and the
 * outside world, in one place, so that the simulator (test/sim/) runs exactly the host that runs
 * in production (consortium.ts). It carries out the engine's outputs — broadcasts, timeouts,
 * decisions —, commits a decision and starts the next height after the block interval (or, with
 * nothing to do, after the empty-block interval), notices a stalled height and re-sends what it
 * holds, decides when to catch up by block sync and checks every synced block, and runs the engine
 * only at heights where this node is an authority (membership changes apply from the next height).
 *
 * It owns no socket, clock or timer: adapters give it small interfaces. It is deterministic given
 * the order of calls (no wall clock, no randomness, insertion-ordered collections only), which is
 * what lets the simulator replay a run from its seed.
 */
import type { Chain } from '../chain/chain.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { Block } from '../protocol/block.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Signer } from '../protocol/signature.ts';
import { CatchUp, checkSyncedBlock } from './catch-up.ts';
import { ChainApplication } from './tendermint/chain-application.ts';
import { DEFAULT_TIMEOUTS, type EngineOutput, TendermintEngine, type Timeouts } from './tendermint/engine.ts';
import { type ConsensusMessage, heightOf, type SignatureCheck, senderOf } from './tendermint/messages.ts';
import type { SignedVoteLog } from './tendermint/signed-log.ts';

/** Virtual or real time, and timers on it. A timer's callback is awaited by the simulator. */
export interface HostTimers {
  now(): number;
  set(delayMs: number, run: () => Promise<void>): number;
  clear(id: number): void;
}

/** What the host sends. Peers are opaque ids chosen by the adapter. */
export interface HostNetwork {
  broadcast(message: ConsensusMessage): void;
  /** Tells peers our head height. */
  status(height: number): void;
  /** Asks `peer` for blocks from `fromHeight` on; the answer comes back through onBlocks or onSyncFailed. */
  requestBlocks(peer: string, fromHeight: number): void;
  /** `peer` served a block that fails validation: provably faulty. */
  punish(peer: string, reason: string): void;
}

/** What the host reports; all optional (metrics, logs, the simulator's bookkeeping). */
export interface HostEvents {
  committed?(block: Block, how: 'consensus' | 'sync'): void;
  heightStarted?(height: number): void;
  /** A height was decided in `round`; `missed` lists the proposers of earlier rounds whose proposal never arrived. */
  decided?(height: number, round: number, missed: readonly Hex[]): void;
  roundChanged?(height: number, round: number): void;
  evidence?(output: Extract<EngineOutput, { type: 'evidence' }>): void;
  dropped?(hash: Hex, error: TillidError): void;
  commitFailed?(height: number, error: unknown): void;
  caughtUp?(from: number, to: number, peer: string): void;
}

export interface ConsensusHostOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly timers: HostTimers;
  readonly network: HostNetwork;
  /** Block timestamps (a wall clock; virtual in the simulator). */
  readonly clock: () => number;
  /** Absent for an observer: it follows by sync and votes on nothing. */
  readonly authority?: { readonly signer: Signer; readonly signedLog: SignedVoteLog };
  readonly timeouts?: Timeouts;
  readonly signatureCheck?: SignatureCheck;
  /** Pause after a commit before the next height starts (CometBFT's timeout_commit), unless a full block waits. */
  readonly blockIntervalMs: number;
  /** With an empty mempool, the wait before an empty block; work or another authority's start ends it. */
  readonly emptyBlockIntervalMs?: number;
  /** How often the host looks for a stall; a height without progress for stallMs is re-sent. */
  readonly tickIntervalMs?: number;
  readonly stallMs?: number;
  /** A block request unanswered for this long is given up, and another peer may be asked. */
  readonly syncTimeoutMs?: number;
  readonly events?: HostEvents;
}

/** Consensus messages for heights further ahead than this are not admitted (a sync is due). */
export const MAX_HEIGHTS_AHEAD = 2;

/** Heights without a message from an authority after which its proposer turns are cut short. */
const SILENT_HEIGHTS = 2;

export type Admission = { verdict: 'accept' } | { verdict: 'ignore' | 'reject'; reason: string };

export class ConsensusHost {
  readonly #o: ConsensusHostOptions;
  readonly #engine: TendermintEngine | undefined;
  readonly #app: ChainApplication | undefined;
  readonly #emptyBlockIntervalMs: number;
  readonly #tickMs: number;
  readonly #stallMs: number;
  /** Engine timeouts and the pending start of the next height; cleared when a height ends. */
  readonly #timers = new Set<number>();
  #tickTimer: number | undefined;
  /** Highest head each peer is known to have: from its status, or from its messages for later heights. */
  readonly #catchUp: CatchUp;
  /** Decisions and block sync both append to the chain; they take turns, each re-checking the head. */
  #appending: Promise<void> = Promise.resolve();
  #stopped = true;
  #idle = false;
  #committedAt = 0;
  #lastProgress = 0;
  #lastStatusReply = Number.NEGATIVE_INFINITY;
  /** Round the engine was in at the last check, for round metrics. */
  #round = 0;
  /**
   * An authority that starts with an empty chain does not know whether it signed anything before
   * (a data directory lost with its signed-vote log looks exactly like a new one). It waits for a
   * peer's head H: at 0 the network is new and it votes from height 1; otherwise it may have
   * signed at most up to H + 1, so it follows by sync and votes from H + 2 — never signing twice.
   */
  #awaitingPeers = false;
  #voteFrom = 1;
  /** The highest height each authority has sent us a message for, to tell a dead proposer. */
  readonly #heardAt = new Map<Hex, number>();
  /** The height this host started at: no authority is judged silent before SILENT_HEIGHTS more. */
  #startedAt = 0;

  constructor(options: ConsensusHostOptions) {
    this.#o = options;
    this.#emptyBlockIntervalMs = options.emptyBlockIntervalMs ?? options.blockIntervalMs;
    this.#tickMs = options.tickIntervalMs ?? 1000;
    this.#stallMs = options.stallMs ?? this.#tickMs;
    this.#catchUp = new CatchUp(
      () => options.timers.now(),
      options.syncTimeoutMs ?? 10_000,
      (peer, from) => options.network.requestBlocks(peer, from),
    );
    if (options.authority) {
      this.#app = new ChainApplication({
        chain: options.chain,
        mempool: options.mempool,
        proposer: options.authority.signer.publicKey,
        now: options.clock,
        ...(options.events?.dropped ? { onDropped: options.events.dropped } : {}),
      });
      this.#engine = new TendermintEngine({
        chainId: options.chain.rules.chainId,
        signer: options.authority.signer,
        app: this.#app,
        signedLog: options.authority.signedLog,
        timeouts: options.timeouts ?? DEFAULT_TIMEOUTS,
        ...(options.signatureCheck ? { signatureCheck: options.signatureCheck } : {}),
        isSilent: (authority) => this.#silent(authority),
      });
    }
  }

  get isAuthority(): boolean {
    return this.#engine !== undefined;
  }

  /** The height the engine runs (0 before it first starts) and its round, for metrics and tests. */
  get position(): { height: number; round: number; decided: boolean } {
    return {
      height: this.#engine?.height ?? 0,
      round: this.#engine?.round ?? 0,
      decided: this.#engine?.decided ?? false,
    };
  }

  /** Time of the last commit (by decision or sync), on the host's timers' clock. */
  get lastProgressAt(): number {
    return this.#lastProgress;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#lastProgress = this.#o.timers.now();
    const { chain } = this.#o;
    this.#startedAt = chain.head.height;
    this.#awaitingPeers =
      this.#engine !== undefined && chain.head.height === 0 && chain.authoritiesAt(1).length > 1;
    this.#scheduleTick();
    if (this.#awaitingPeers) this.#o.network.status(0);
    else await this.#startEngine();
  }

  /** Stops timers, then lets a commit in flight finish (closing the store under it would fail it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    if (this.#tickTimer !== undefined) this.#o.timers.clear(this.#tickTimer);
    await this.#appending;
  }

  transactionsArrived(): void {
    this.#wake();
  }

  /**
   * Whether a decoded, signature-checked message may reach the engine (gossip validation): stale
   * heights are ignored, far-ahead ones mean we are behind, senders must be authorities there.
   */
  admit(message: ConsensusMessage, from: string): Admission {
    const { chain } = this.#o;
    const chainId = message.kind === 'vote' ? message.vote.chainId : message.proposal.chainId;
    if (chainId !== chain.rules.chainId) return { verdict: 'reject', reason: 'another chain' };
    const height = heightOf(message);
    const head = chain.head.height;
    if (height <= head) return { verdict: 'ignore', reason: 'height already final' };
    // A message for height h means someone holds h - 1; two or more ahead of our engine, only sync helps.
    if (height >= head + 3) this.#noteHead(from, height - 1);
    if (height > head + MAX_HEIGHTS_AHEAD) return { verdict: 'ignore', reason: 'height far ahead' };
    if (!chain.authoritiesAt(height).includes(senderOf(message)))
      return { verdict: 'reject', reason: 'sender is not an authority' };
    return { verdict: 'accept' };
  }

  /** An admitted message. */
  async onMessage(message: ConsensusMessage): Promise<void> {
    if (this.#stopped) return;
    const sender = senderOf(message);
    this.#heardAt.set(sender, Math.max(this.#heardAt.get(sender) ?? 0, heightOf(message)));
    // Another authority has started the next height: so do we, rather than idle.
    if (heightOf(message) === this.#o.chain.head.height + 1) this.#wake();
    await this.#run(this.#engine?.onMessage(message) ?? []);
  }

  /** A peer's head height. A peer behind us gets ours back (at most once a tick), so it can sync. */
  async onStatus(from: string, height: number): Promise<void> {
    if (this.#stopped) return;
    const head = this.#o.chain.head.height;
    if (height < head && this.#o.timers.now() - this.#lastStatusReply >= this.#tickMs) {
      this.#lastStatusReply = this.#o.timers.now();
      this.#o.network.status(head);
    }
    if (this.#awaitingPeers) {
      this.#awaitingPeers = false;
      this.#voteFrom = height === 0 ? 1 : height + 2;
      if (height === 0) await this.#startEngine();
    }
    this.#noteHead(from, height);
  }

  /** Blocks a peer sent in answer to requestBlocks. Each is checked before it is committed. */
  async onBlocks(from: string, raw: readonly unknown[]): Promise<void> {
    this.#catchUp.answered(from);
    if (this.#stopped) return;
    const { chain } = this.#o;
    const start = chain.head.height;
    let bad: string | undefined;
    for (const input of raw) {
      bad = await this.#append(async () => {
        const checked = checkSyncedBlock(chain, input);
        if (!checked.ok) return checked.problem;
        await chain.commit(checked.block, checked.execution);
        this.#o.mempool.remove(checked.execution.included.map((t) => t.hash));
        this.#o.events?.committed?.(checked.block, 'sync');
        return undefined;
      });
      if (bad !== undefined || this.#stopped) break;
    }
    if (bad !== undefined) {
      this.#catchUp.forget(from);
      this.#o.network.punish(from, bad);
    }
    if (chain.head.height > start) {
      this.#o.events?.caughtUp?.(start + 1, chain.head.height, from);
      this.#lastProgress = this.#o.timers.now();
      this.#app?.committed();
      // Still behind: ask again at once; otherwise take part in the next height.
      if (this.#behind()) this.#requestSync();
      else await this.#startNextHeight();
    } else if (raw.length === 0) this.#catchUp.forget(from);
  }

  /** A block request failed (peer unreachable, timed out): forget what it claimed and try another. */
  onSyncFailed(from: string): void {
    this.#catchUp.forget(from);
    if (!this.#stopped && this.#behind()) this.#requestSync();
  }

  // -------------------------------------------------------------------------------------------

  #noteHead(peer: string, height: number): void {
    if (this.#awaitingPeers && height > 0) {
      this.#awaitingPeers = false;
      this.#voteFrom = height + 2;
    }
    if (!this.#catchUp.note(peer, height)) return;
    // One block behind is normal while our engine is deciding that block; two means consensus has
    // moved on. A node not running the engine (following, or waiting to vote) syncs at once.
    const head = this.#o.chain.head.height;
    if (height >= head + 2 || (height > head && !this.#running())) this.#requestSync();
  }

  /** Whether the engine is working on the height after the head. */
  #running(): boolean {
    const engine = this.#engine;
    return engine !== undefined && engine.height === this.#o.chain.head.height + 1 && !engine.decided;
  }

  /**
   * An authority that has sent nothing for the last SILENT_HEIGHTS heights (every live authority
   * votes at every height) is taken to be down, so its proposer turns do not wait a full timeout.
   */
  #silent(authority: Hex): boolean {
    const head = this.#o.chain.head.height;
    if (authority === this.#o.authority?.signer.publicKey || head < this.#startedAt + SILENT_HEIGHTS)
      return false;
    return (this.#heardAt.get(authority) ?? 0) <= head - SILENT_HEIGHTS;
  }

  #behind(): boolean {
    return this.#catchUp.ahead(this.#o.chain.head.height);
  }

  #requestSync(): void {
    if (!this.#stopped) this.#catchUp.request(this.#o.chain.head.height);
  }

  /** Runs the engine on the next height if this node is one of its authorities; else it follows. */
  async #startEngine(): Promise<void> {
    const height = this.#o.chain.head.height + 1;
    const me = this.#o.authority?.signer.publicKey;
    if (this.#stopped || !this.#engine || !me || !this.#o.chain.authoritiesAt(height).includes(me)) return;
    if (this.#awaitingPeers || height < this.#voteFrom || this.#engine.height >= height) return;
    this.#round = 0;
    this.#o.events?.heightStarted?.(height);
    await this.#run(this.#engine.start(height));
  }

  /** Carries out engine outputs. */
  async #run(outputs: readonly EngineOutput[]): Promise<void> {
    if (this.#stopped) return;
    for (const output of outputs) {
      switch (output.type) {
        case 'broadcast':
          this.#o.network.broadcast(output.message);
          break;
        case 'schedule-timeout': {
          const id = this.#o.timers.set(output.delayMs, async () => {
            this.#timers.delete(id);
            await this.#run(this.#engine?.onTimeout(output) ?? []);
          });
          this.#timers.add(id);
          break;
        }
        case 'decide':
          await this.#commit({ ...output.block, certificate: output.certificate });
          break;
        case 'evidence':
          this.#o.events?.evidence?.(output);
          break;
      }
    }
    this.#noteRound();
  }

  #noteRound(): void {
    const engine = this.#engine;
    if (!engine || engine.decided || engine.round === this.#round) return;
    this.#round = engine.round;
    this.#o.events?.roundChanged?.(engine.height, engine.round);
  }

  /** Runs `append` after every earlier append has finished. */
  #append<T>(append: () => Promise<T>): Promise<T> {
    const result = this.#appending.then(append);
    this.#appending = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  async #commit(block: Block): Promise<void> {
    const { chain, mempool } = this.#o;
    const height = block.header.height;
    const committed = await this.#append(async () => {
      // Block sync may have got there first.
      if (height !== chain.head.height + 1) return false;
      try {
        const execution = this.#app ? this.#app.executionOf(block) : chain.validate(block);
        await chain.commit(block, execution);
        mempool.remove(execution.included.map((t) => t.hash));
        this.#app?.committed();
        this.#lastProgress = this.#o.timers.now();
        return true;
      } catch (e) {
        this.#o.events?.commitFailed?.(height, e);
        return false;
      }
    });
    if (!committed) return;
    const round = block.certificate?.round ?? 0;
    this.#o.events?.decided?.(height, round, this.#engine?.missedProposers(round) ?? []);
    this.#o.events?.committed?.(block, 'consensus');
    await this.#startNextHeight();
  }

  #clearTimers(): void {
    for (const id of this.#timers) this.#o.timers.clear(id);
    this.#timers.clear();
  }

  /**
   * Starts the engine on the height after the head, after the block interval unless a full block
   * is waiting, or after the empty-block interval when there is nothing to do. Messages that
   * arrive meanwhile are buffered by the engine.
   */
  async #startNextHeight(): Promise<void> {
    this.#clearTimers();
    if (!this.#engine || this.#stopped) return;
    const { mempool, chain, blockIntervalMs } = this.#o;
    this.#committedAt = this.#o.timers.now();
    const full = mempool.size >= chain.rules.params.maxBlockTransactions;
    this.#idle = mempool.size === 0 && this.#emptyBlockIntervalMs > blockIntervalMs;
    this.#scheduleStart(full ? 0 : this.#idle ? this.#emptyBlockIntervalMs : blockIntervalMs);
  }

  #scheduleStart(delay: number): void {
    this.#clearTimers();
    const id = this.#o.timers.set(delay, async () => {
      this.#timers.delete(id);
      this.#idle = false;
      await this.#startEngine();
    });
    this.#timers.add(id);
  }

  /** Ends an idle wait: the next height starts one block interval after the last commit. */
  #wake(): void {
    if (!this.#idle || this.#stopped) return;
    this.#idle = false;
    this.#scheduleStart(Math.max(0, this.#committedAt + this.#o.blockIntervalMs - this.#o.timers.now()));
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#o.timers.set(this.#tickMs, async () => {
      if (this.#stopped) return;
      await this.#tick();
      this.#scheduleTick();
    });
  }

  /**
   * A height running without progress for stallMs: re-send everything held for it (gossip may
   * have lost some, or an equivocator shown different peers different votes), tell peers where we
   * are, and catch up by sync if a peer is ahead. An idle wait is not a stall: a quiet network
   * sends nothing. An observer tells its height every tick, so authorities answer when it is behind.
   */
  async #tick(): Promise<void> {
    const now = this.#o.timers.now();
    const head = this.#o.chain.head.height;
    const engine = this.#engine;
    if (!engine || !this.#running()) {
      if (!this.#idle && (!engine || engine.height <= head)) this.#o.network.status(head);
    } else if (now - this.#lastProgress >= this.#stallMs) {
      this.#lastProgress = now;
      this.#o.network.status(head);
      await this.#run(engine.rebroadcast());
    }
    if (this.#behind()) this.#requestSync();
  }
}
