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
 * and hearing from authorities (message-admission.ts), running the engine height by height
 * (height-runner.ts: when the next height starts, pacing.ts; where its time goes,
 * height-trace.ts), noticing a stall (stall-watch.ts), block sync (host-sync.ts, catch-up.ts), and
 * when a node that lost its signed-vote log may vote again (rejoin.ts). This class takes the
 * adapter's calls and hands each to its part; they share the order of appends to the chain.
 *
 * It owns no socket, clock or timer: adapters give it small interfaces. It is deterministic given
 * the order of calls (no wall clock, no randomness, insertion-ordered collections only), which is
 * what lets the simulator replay a run from its seed.
 */
import type { Hex } from '../protocol/hash.ts';
import { HeightRunner } from './height-runner.ts';
import {
  type ConsensusHostOptions,
  DEFAULT_STALL_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_TICK_MS,
} from './host-ports.ts';
import { AppendQueue, HostSync } from './host-sync.ts';
import { type Admission, AuthorityHearing, admitMessage } from './message-admission.ts';
import { RejoinGate } from './rejoin.ts';
import { StallWatch } from './stall-watch.ts';
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
  readonly #stall: StallWatch;
  readonly #hearing = new AuthorityHearing();
  /** Block sync: when to ask, and committing what peers serve (host-sync.ts). */
  readonly #sync: HostSync;
  /** Decisions and block sync both append to the chain; they take turns, each re-checking the head. */
  readonly #appends = new AppendQueue();
  /** Whether a lost signed-vote log still keeps this authority from voting (rejoin.ts). */
  readonly #gate = new RejoinGate();
  /** The engine, height by height (height-runner.ts). */
  readonly #runner: HeightRunner;
  #stopped = true;

  constructor(options: ConsensusHostOptions) {
    this.#o = options;
    const tickMs = options.tickIntervalMs ?? DEFAULT_TICK_MS;
    this.#stall = new StallWatch(
      options.timers,
      tickMs,
      options.stallMs ?? Math.max(tickMs, DEFAULT_STALL_MS),
    );
    this.#runner = new HeightRunner(options, {
      hearing: this.#hearing,
      stall: this.#stall,
      appends: this.#appends,
      gate: this.#gate,
      stopped: () => this.#stopped,
    });
    this.#sync = new HostSync({
      chain: options.chain,
      mempool: options.mempool,
      network: options.network,
      events: options.events,
      now: () => options.timers.now(),
      timeoutMs: options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS,
      appends: this.#appends,
      running: () => this.#runner.running(),
      stopped: () => this.#stopped,
    });
  }

  get isAuthority(): boolean {
    return this.#runner.isAuthority;
  }

  /** The height the engine runs (0 before it first starts) and its round, for metrics and tests. */
  get position(): { height: number; round: number; decided: boolean } {
    return this.#runner.position;
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
    if (this.isAuthority && lost && chain.authoritiesAt(chain.head.height + 1).length > 1) this.#gate.lose();
    this.#stall.start(() => this.#tick());
    if (this.#gate.waiting) this.#askHeads();
    else await this.#runner.start();
  }

  /** Stops timers, then lets a commit in flight finish (closing the store under it would fail it). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#runner.stop();
    this.#stall.stop();
    await this.#appends.drained();
  }

  transactionsArrived(): void {
    this.#runner.wake();
  }

  /** Whether a decoded, signature-checked message may reach the engine (message-admission.ts). */
  admit(message: ConsensusMessage, from: string): Admission {
    const { admission, peerHead } = admitMessage(this.#o.chain, message);
    if (peerHead !== undefined) this.#sync.noteHead(from, peerHead);
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
    if (height === head + 1) this.#runner.wake();
    await this.#runner.deliver(message);
  }

  /** What this node holds for `height`, for a peer that asked (requestHeld): nothing unless it runs it. */
  held(height: number): ConsensusMessage[] {
    if (this.#stopped) return [];
    return this.#runner.held(height);
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
    this.#sync.noteHead(from, height);
    const me = this.#o.authority?.signer.publicKey;
    if (!this.#gate.waiting || author === undefined || !me) return;
    const voteFrom = this.#gate.note(author, height, this.#o.chain.authoritiesAt(head + 1), me);
    if (voteFrom === undefined) return;
    this.#o.events?.rejoinBounded?.(voteFrom);
    await this.#runner.start();
  }

  /** Blocks a peer sent in answer to requestBlocks. Each is checked before it is committed. */
  async onBlocks(from: string, raw: readonly unknown[]): Promise<void> {
    const start = await this.#sync.apply(from, raw);
    if (this.#stopped || this.#o.chain.head.height <= start) return;
    this.#stall.progressed();
    this.#runner.synced();
    // Still behind: ask again at once; otherwise take part in the next height.
    if (this.#sync.behind()) this.#sync.request();
    else await this.#runner.joinLiveHeight(from);
  }

  /** A block request failed (peer unreachable, timed out): forget what it claimed and try another. */
  onSyncFailed(from: string): void {
    this.#sync.failed(from);
  }

  /** Asks every peer for its head: announcing 0, which every peer with a block answers. */
  #askHeads(): void {
    this.#o.network.status(0);
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
    const runner = this.#runner;
    if (this.#gate.waiting) this.#askHeads();
    else if (!runner.isAuthority || !runner.running()) {
      if (!runner.idle && (!runner.isAuthority || runner.position.height <= head))
        this.#o.network.status(head);
    } else if (this.#stall.stalled()) {
      this.#o.network.status(head);
      await runner.resend();
    }
    if (this.#sync.behind()) this.#sync.request();
  }
}
