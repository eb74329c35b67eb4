/**
 * Running the engine, height by height, for the consensus host (host.ts): the engine and the
 * chain application it votes with, starting a height when pacing says so (pacing.ts) and only at
 * heights where this node is an authority and its signed-vote log lets it sign (rejoin.ts),
 * replaying messages that came before their height (early-messages.ts), carrying out the engine's
 * outputs — broadcasts, round timeouts, decisions —, committing a decided block and scheduling
 * the next height, and timing each height's steps (height-trace.ts). Deterministic given the order
 * of calls, like the host.
 */
import type { Block } from '../protocol/block.ts';
import { EarlyMessages } from './early-messages.ts';
import { HeightTrace } from './height-trace.ts';
import { type ConsensusHostOptions, MAX_HELD_MESSAGES } from './host-ports.ts';
import type { AppendQueue } from './host-sync.ts';
import type { AuthorityHearing } from './message-admission.ts';
import { HeightPacing } from './pacing.ts';
import type { RejoinGate } from './rejoin.ts';
import type { StallWatch } from './stall-watch.ts';
import { ChainApplication } from './tendermint/chain-application.ts';
import { DEFAULT_TIMEOUTS, type EngineOutput, TendermintEngine } from './tendermint/engine.ts';
import { type ConsensusMessage, heightOf } from './tendermint/messages.ts';

/** What the runner shares with the rest of the host. */
export interface HeightRunnerParts {
  readonly hearing: AuthorityHearing;
  readonly stall: StallWatch;
  /** Decisions and block sync both append to the chain; they take turns, each re-checking the head. */
  readonly appends: AppendQueue;
  readonly gate: RejoinGate;
  readonly stopped: () => boolean;
}

export class HeightRunner {
  readonly #o: ConsensusHostOptions;
  readonly #parts: HeightRunnerParts;
  readonly #engine: TendermintEngine | undefined;
  readonly #app: ChainApplication | undefined;
  readonly #pacing: HeightPacing;
  /** Messages for heights the engine has not started yet, replayed when it does. */
  readonly #early = new EarlyMessages();
  /** Where each height's time goes, for the step metrics. */
  readonly #trace: HeightTrace;
  /** Round the engine was in at the last check, for round metrics. */
  #round = 0;

  constructor(options: ConsensusHostOptions, parts: HeightRunnerParts) {
    this.#o = options;
    this.#parts = parts;
    this.#trace = new HeightTrace(() => options.timers.now());
    this.#pacing = new HeightPacing(
      options.timers,
      options.blockIntervalMs,
      options.emptyBlockIntervalMs ?? options.blockIntervalMs,
      () => this.start(),
    );
    if (!options.authority) return;
    const me = options.authority.signer.publicKey;
    this.#app = new ChainApplication({
      chain: options.chain,
      mempool: options.mempool,
      proposer: me,
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
      // Asked only when a propose timeout is set: true cuts that proposer's turn short.
      isSilent: (authority) => {
        const silent = parts.hearing.silent(authority, options.chain.head.height, me);
        if (silent) options.events?.proposerSilent?.(options.chain.head.height + 1, authority);
        return silent;
      },
    });
  }

  get isAuthority(): boolean {
    return this.#engine !== undefined;
  }

  get position(): { height: number; round: number; decided: boolean } {
    return {
      height: this.#engine?.height ?? 0,
      round: this.#engine?.round ?? 0,
      decided: this.#engine?.decided ?? false,
    };
  }

  /** Waiting for work before an empty block (pacing.ts). */
  get idle(): boolean {
    return this.#pacing.idle;
  }

  /** Whether the engine is working on the height after the head. */
  running(): boolean {
    const engine = this.#engine;
    return engine !== undefined && engine.height === this.#o.chain.head.height + 1 && !engine.decided;
  }

  /** Runs the engine on the next height if this node is one of its authorities; else it follows. */
  async start(): Promise<void> {
    const height = this.#o.chain.head.height + 1;
    const me = this.#o.authority?.signer.publicKey;
    if (this.#parts.stopped() || !this.#engine || !me || !this.#o.chain.authoritiesAt(height).includes(me))
      return;
    if (!this.#parts.gate.mayVoteAt(height) || this.#engine.height >= height) return;
    this.#round = 0;
    this.#o.events?.heightStarted?.(height);
    this.#trace.started(height);
    const outputs = this.#engine.start(height);
    for (const message of this.#early.take(height)) {
      this.#trace.received(message);
      outputs.push(...this.#engine.onMessage(message));
    }
    await this.#run(outputs);
  }

  /** Stops the height's timers. */
  stop(): void {
    this.#pacing.clear();
  }

  /** An admitted message. The engine takes its own height and buffers the next; later ones wait here. */
  async deliver(message: ConsensusMessage): Promise<void> {
    const engine = this.#engine;
    if (engine && (engine.height === 0 || heightOf(message) > engine.height + 1)) {
      this.#early.keep(message, this.#o.chain.head.height);
      return;
    }
    this.#trace.received(message);
    await this.#run(engine?.onMessage(message) ?? []);
  }

  /** What this node holds for `height`, for a peer that asked: nothing unless it runs it. */
  held(height: number): ConsensusMessage[] {
    return this.#engine?.heldAt(height, MAX_HELD_MESSAGES) ?? [];
  }

  /** Work arrived, or another authority started the next height: end an idle wait. */
  wake(): void {
    if (!this.#parts.stopped()) this.#pacing.wake();
  }

  /** The head moved by block sync. */
  synced(): void {
    this.#trace.synced();
    this.#app?.committed();
  }

  /**
   * Caught up by sync: the next height is the one the others run. Its messages that arrived while
   * this node was more than MAX_HEIGHTS_AHEAD behind were not admitted, so the peer that served
   * the blocks is asked for what it holds for it; and if the network has evidently started it
   * (messages for it are held), the idle wait for work does not apply — the others are not idle.
   */
  async joinLiveHeight(from: string): Promise<void> {
    await this.#startNextHeight();
    const next = this.#o.chain.head.height + 1;
    const me = this.#o.authority?.signer.publicKey;
    if (!this.#engine || this.#parts.stopped() || !me || !this.#o.chain.authoritiesAt(next).includes(me))
      return;
    this.#o.network.requestHeld(next, from);
    if (this.#early.has(next)) this.wake();
  }

  /** The height stalled: re-send this node's own messages for it and ask a peer for the rest. */
  async resend(): Promise<void> {
    const engine = this.#engine;
    if (!engine) return;
    const again = engine.rebroadcast();
    this.#o.events?.resent?.(again.flatMap((o) => (o.type === 'broadcast' ? [o.message] : [])));
    this.#o.network.requestHeld(engine.height);
    await this.#run(again);
  }

  /** Carries out engine outputs. */
  async #run(outputs: readonly EngineOutput[]): Promise<void> {
    if (this.#parts.stopped()) return;
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

  async #commit(block: Block): Promise<void> {
    const { chain, mempool } = this.#o;
    const height = block.header.height;
    this.#trace.decided();
    const committed = await this.#parts.appends.run(async () => {
      // Block sync may have got there first.
      if (height !== chain.head.height + 1) return false;
      try {
        const execution = this.#app ? this.#app.executionOf(block) : chain.validate(block);
        await chain.commit(block, execution);
        mempool.remove(execution.included.map((t) => t.hash));
        this.#app?.committed();
        this.#parts.stall.progressed();
        return true;
      } catch (e) {
        this.#o.events?.commitFailed?.(height, e);
        return false;
      }
    });
    if (!committed) return;
    const steps = this.#trace.committed(height);
    if (steps) this.#o.events?.heightTimed?.(height, steps, block.transactions.length);
    const round = block.certificate?.round ?? 0;
    this.#o.events?.decided?.(height, round, this.#engine?.missedProposers(round) ?? []);
    this.#o.events?.committed?.(block, 'consensus');
    await this.#startNextHeight();
  }

  /** Ends the height and schedules the next one (pacing.ts), if this node runs the engine. */
  async #startNextHeight(): Promise<void> {
    this.#pacing.clear();
    if (!this.#engine || this.#parts.stopped()) return;
    this.#pacing.afterCommit(this.#o.mempool.size, this.#o.chain.rules.params.maxBlockTransactions);
  }
}
