/**
 * The consensus host: everything between the Tendermint engine (tendermint/engine.ts) and the
 * outside world, in one place, so that the simulator (test/sim/) runs exactly the host that runs
 * in production (consortium.ts). It carries out the engine's outputs — broadcasts, timeouts,
 * decisions —, commits a decision and starts the next height after the block interval (or, with
 * nothing to do, after the empty-block interval), notices a stalled height (re-sends its own
 * messages, asks a peer for the rest), decides when to catch up by block sync and checks every
 * synced block, keeps messages for heights its engine has not reached (early-messages.ts) and asks
 * a peer for the live height's after a sync, and runs the engine only at heights where this node
 * is an authority (membership changes apply from the next height).
 *
 * Its parts, each in its own module: the contract with adapters (host-ports.ts), gossip validation
 * and hearing from authorities (message-admission.ts), when the next height starts (pacing.ts),
 * noticing a stall (stall-watch.ts), and block sync (catch-up.ts). This class wires them to the
 * engine and owns what they share: the order of appends to the chain, and when to vote.
 *
 * It owns no socket, clock or timer: adapters give it small interfaces. It is deterministic given
 * the order of calls (no wall clock, no randomness, insertion-ordered collections only), which is
 * what lets the simulator replay a run from its seed.
 */
import type { Block } from '../protocol/block.ts';
import type { Hex } from '../protocol/hash.ts';
import { CatchUp, checkSyncedBlock } from './catch-up.ts';
import { EarlyMessages } from './early-messages.ts';
import { HeightTrace } from './height-trace.ts';
import {
  type ConsensusHostOptions,
  DEFAULT_STALL_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_TICK_MS,
  MAX_HELD_MESSAGES,
} from './host-ports.ts';
import { type Admission, AuthorityHearing, admitMessage } from './message-admission.ts';
import { HeightPacing } from './pacing.ts';
import { LostLogRejoin } from './rejoin.ts';
import { StallWatch } from './stall-watch.ts';
import { ChainApplication, MAX_PROPOSAL_BYTES } from './tendermint/chain-application.ts';
import { DEFAULT_TIMEOUTS, type EngineOutput, TendermintEngine } from './tendermint/engine.ts';
import { type ConsensusMessage, heightOf } from './tendermint/messages.ts';

export {
  type ConsensusHostOptions,
  DEFAULT_STALL_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_TICK_MS,
  type HostEvents,
  type HostNetwork,
  type HostTimers,
  MAX_HELD_MESSAGES,
} from './host-ports.ts';
export { type Admission, MAX_HEIGHTS_AHEAD } from './message-admission.ts';

export class ConsensusHost {
  readonly #o: ConsensusHostOptions;
  readonly #engine: TendermintEngine | undefined;
  readonly #app: ChainApplication | undefined;
  readonly #pacing: HeightPacing;
  readonly #stall: StallWatch;
  readonly #hearing = new AuthorityHearing();
  /** Messages for heights the engine has not started yet, replayed when it does. */
  readonly #early = new EarlyMessages();
  /** Highest head each peer is known to have: from its status, or from its messages for later heights. */
  readonly #catchUp: CatchUp;
  /** Decisions and block sync both append to the chain; they take turns, each re-checking the head. */
  #appending: Promise<void> = Promise.resolve();
  #stopped = true;
  /** Round the engine was in at the last check, for round metrics. */
  #round = 0;
  /**
   * Set while this authority's signed-vote log is lost (rejoin.ts): it signs nothing until enough
   * other authorities have told it their own heads, and then only from the height that bound gives.
   * A log that exists is trusted whatever the chain holds — an empty chain with its log (a node
   * stopped before its first commit) votes at once.
   */
  #rejoin: LostLogRejoin | undefined;
  #voteFrom = 1;
  /** Where each height's time goes (height-trace.ts), for the step metrics. */
  readonly #trace: HeightTrace;

  constructor(options: ConsensusHostOptions) {
    this.#o = options;
    this.#trace = new HeightTrace(() => options.timers.now());
    const tickMs = options.tickIntervalMs ?? DEFAULT_TICK_MS;
    this.#stall = new StallWatch(
      options.timers,
      tickMs,
      options.stallMs ?? Math.max(tickMs, DEFAULT_STALL_MS),
    );
    this.#pacing = new HeightPacing(
      options.timers,
      options.blockIntervalMs,
      options.emptyBlockIntervalMs ?? options.blockIntervalMs,
      () => this.#startEngine(),
    );
    this.#catchUp = new CatchUp(
      () => options.timers.now(),
      options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS,
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
        isSilent: (authority) =>
          this.#hearing.silent(authority, options.chain.head.height, options.authority?.signer.publicKey),
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
    return this.#stall.lastProgressAt;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const { chain } = this.#o;
    this.#hearing.started(chain.head.height);
    const lost = this.#o.authority?.signedLog.lost === true;
    if (this.#engine && lost && chain.authoritiesAt(chain.head.height + 1).length > 1)
      this.#rejoin = new LostLogRejoin();
    this.#stall.start(() => this.#tick());
    if (this.#rejoin) this.#askHeads();
    else await this.#startEngine();
  }

  /** Stops timers, then lets a commit in flight finish (closing the store under it would fail it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pacing.clear();
    this.#stall.stop();
    await this.#appending;
  }

  transactionsArrived(): void {
    this.#wake();
  }

  /** Whether a decoded, signature-checked message may reach the engine (message-admission.ts). */
  admit(message: ConsensusMessage, from: string): Admission {
    const { admission, peerHead } = admitMessage(this.#o.chain, message);
    if (peerHead !== undefined) this.#noteHead(from, peerHead);
    return admission;
  }

  /** An admitted message. */
  async onMessage(message: ConsensusMessage): Promise<void> {
    if (this.#stopped) return;
    const height = heightOf(message);
    const head = this.#o.chain.head.height;
    // Only a message for a height not yet final here says its sender takes part: one for the head's
    // height (admitted for the evidence check) comes from an authority still behind, which cannot
    // propose the next height, so it may still be judged silent.
    if (height > head) this.#hearing.heard(message);
    // Another authority has started the next height: so do we, rather than idle.
    if (height === head + 1) this.#wake();
    const engine = this.#engine;
    // The engine takes its own height and buffers the next; one behind by sync would drop the rest.
    if (engine && (engine.height === 0 || height > engine.height + 1)) {
      this.#early.keep(message, head);
      return;
    }
    this.#trace.received(message);
    await this.#run(engine?.onMessage(message) ?? []);
  }

  /** What this node holds for `height`, for a peer that asked (requestHeld): nothing unless it runs it. */
  held(height: number): ConsensusMessage[] {
    if (this.#stopped) return [];
    return this.#engine?.heldAt(height, MAX_HELD_MESSAGES) ?? [];
  }

  /**
   * A peer's head height. A peer behind us gets ours back (at most once a tick), so it can sync.
   * `author`: the authority whose own head this is, when the adapter knows the status came straight
   * from it (not forwarded); only such heads let a node that lost its vote log vote again.
   */
  async onStatus(from: string, height: number, author?: Hex): Promise<void> {
    if (this.#stopped) return;
    const head = this.#o.chain.head.height;
    if (height < head && this.#stall.mayAnswerStatus()) this.#o.network.status(head);
    this.#noteHead(from, height);
    if (this.#rejoin && author !== undefined) {
      this.#rejoin.note(author, height);
      await this.#rejoinIfBounded();
    }
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
      this.#stall.progressed();
      this.#trace.synced();
      this.#app?.committed();
      // Still behind: ask again at once; otherwise take part in the next height.
      if (this.#behind()) this.#requestSync();
      else await this.#joinLiveHeight(from);
    } else if (raw.length === 0) this.#catchUp.forget(from);
  }

  /**
   * Caught up by sync: the next height is the one the others run. Its messages that arrived while
   * this node was more than MAX_HEIGHTS_AHEAD behind were not admitted, so the peer that served
   * the blocks is asked for what it holds for it; and if the network has evidently started it
   * (messages for it are held), the idle wait for work does not apply — the others are not idle.
   */
  async #joinLiveHeight(from: string): Promise<void> {
    await this.#startNextHeight();
    const next = this.#o.chain.head.height + 1;
    const me = this.#o.authority?.signer.publicKey;
    if (!this.#engine || this.#stopped || !me || !this.#o.chain.authoritiesAt(next).includes(me)) return;
    this.#o.network.requestHeld(next, from);
    if (this.#early.has(next)) this.#wake();
  }

  /** A block request failed (peer unreachable, timed out): forget what it claimed and try another. */
  onSyncFailed(from: string): void {
    this.#catchUp.forget(from);
    if (!this.#stopped && this.#behind()) this.#requestSync();
  }

  // -------------------------------------------------------------------------------------------

  #noteHead(peer: string, height: number): void {
    if (!this.#catchUp.note(peer, height)) return;
    // One block behind is normal while our engine is deciding that block; two means consensus has
    // moved on. A node not running the engine (following, or waiting to vote) syncs at once.
    const head = this.#o.chain.head.height;
    if (height >= head + 2 || (height > head && !this.#running())) this.#requestSync();
  }

  /** Asks every peer for its head: announcing 0, which every peer with a block answers. */
  #askHeads(): void {
    this.#o.network.status(0);
  }

  /** Once enough authorities told their heads, the lost log's bound is known and the wait ends. */
  async #rejoinIfBounded(): Promise<void> {
    const me = this.#o.authority?.signer.publicKey;
    const rejoin = this.#rejoin;
    if (!rejoin || !me) return;
    const from = rejoin.voteFrom(this.#o.chain.authoritiesAt(this.#o.chain.head.height + 1), me);
    if (from === undefined) return;
    this.#rejoin = undefined;
    this.#voteFrom = from;
    this.#o.events?.rejoinBounded?.(from);
    await this.#startEngine();
  }

  /** Whether the engine is working on the height after the head. */
  #running(): boolean {
    const engine = this.#engine;
    return engine !== undefined && engine.height === this.#o.chain.head.height + 1 && !engine.decided;
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
    if (this.#rejoin || height < this.#voteFrom || this.#engine.height >= height) return;
    this.#round = 0;
    this.#o.events?.heightStarted?.(height);
    this.#trace.started(height);
    this.#pacing.started();
    const outputs = this.#engine.start(height);
    for (const message of this.#early.take(height)) {
      this.#trace.received(message);
      outputs.push(...this.#engine.onMessage(message));
    }
    await this.#run(outputs);
  }

  /** Carries out engine outputs. */
  async #run(outputs: readonly EngineOutput[]): Promise<void> {
    if (this.#stopped) return;
    for (const output of outputs) {
      switch (output.type) {
        case 'broadcast':
          this.#trace.sent(output.message);
          this.#o.network.broadcast(output.message);
          break;
        case 'schedule-timeout':
          this.#pacing.schedule(output.delayMs, () => this.#run(this.#engine?.onTimeout(output) ?? []));
          break;
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
    this.#trace.roundChanged();
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
    this.#trace.decided();
    const committed = await this.#append(async () => {
      // Block sync may have got there first.
      if (height !== chain.head.height + 1) return false;
      try {
        const execution = this.#app ? this.#app.executionOf(block) : chain.validate(block);
        await chain.commit(block, execution);
        mempool.remove(execution.included.map((t) => t.hash));
        this.#app?.committed();
        this.#stall.progressed();
        return true;
      } catch (e) {
        this.#o.events?.commitFailed?.(height, e);
        return false;
      }
    });
    if (!committed) return;
    const steps = this.#trace.committed(height);
    if (steps) this.#o.events?.heightTimed?.(height, steps);
    const round = block.certificate?.round ?? 0;
    this.#o.events?.decided?.(height, round, this.#engine?.missedProposers(round) ?? []);
    this.#o.events?.committed?.(block, 'consensus');
    await this.#startNextHeight();
  }

  /** Ends the height and schedules the next one (pacing.ts), if this node runs the engine. */
  async #startNextHeight(): Promise<void> {
    this.#pacing.clear();
    if (!this.#engine || this.#stopped) return;
    const { mempool, chain } = this.#o;
    this.#pacing.afterCommit(mempool, chain.rules.params.maxBlockTransactions, MAX_PROPOSAL_BYTES);
  }

  #wake(): void {
    if (!this.#stopped) this.#pacing.wake();
  }

  /**
   * A height running without progress for stallMs: re-send this node's own messages for it, ask a
   * peer (another each time) for everything it holds for it, tell peers where we are, and catch up
   * by sync if a peer is ahead. Others' messages come by asking, not by every node re-flooding all
   * it holds (that was N gossip messages per held message per stall): a quorum a node locked on
   * may hold the vote of an authority that has since crashed, which only the nodes holding it can
   * pass on (seed 4 of the key-rotation simulation stalls for good without it), and a node that
   * keeps asking reaches them. An idle wait is not a stall: a quiet network sends nothing. An
   * observer tells its height every tick, so authorities answer when it is behind.
   */
  async #tick(): Promise<void> {
    const head = this.#o.chain.head.height;
    const engine = this.#engine;
    if (this.#rejoin) this.#askHeads();
    else if (!engine || !this.#running()) {
      if (!this.#pacing.idle && (!engine || engine.height <= head)) this.#o.network.status(head);
    } else if (this.#stall.stalled()) {
      this.#o.network.status(head);
      const again = engine.rebroadcast();
      this.#o.events?.resent?.(again.flatMap((o) => (o.type === 'broadcast' ? [o.message] : [])));
      this.#o.network.requestHeld(engine.height);
      await this.#run(again);
    }
    if (this.#behind()) this.#requestSync();
  }
}
