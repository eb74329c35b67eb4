/**
 * The Tendermint consensus algorithm (Buchman, Kwon, Milosevic, "The latest gossip on BFT
 * consensus", 2018, Algorithm 1) as a pure state machine.
 *
 * It owns no timer, socket or clock: the host feeds it events (start, a proposal, a vote, a
 * timeout) and carries out what it returns (broadcast, schedule a timeout, decide, report
 * evidence). That is what lets the simulator drive many engines deterministically, and the real
 * node drive one with libp2p and setTimeout, with the same code.
 *
 * Rules are named after the paper's line numbers. After every event `#progress` re-checks the
 * "upon" rules until none fires, which is how the paper's rules are meant to be read: each is a
 * guard over the message log and the local state, not a reaction to one particular message.
 *
 * Every authority has one vote (thresholds from `quorum(n)` = 2f+1; f+1 = n - quorum(n) + 1).
 */
import { type Block, blockHash, type CommitCertificate, quorum } from '../../protocol/block.ts';
import type { Hex } from '../../protocol/hash.ts';
import { type MessageSigner, verifySignature } from '../../protocol/signature.ts';
import { LateEquivocationWatch } from './late-evidence.ts';
import {
  type ConsensusMessage,
  certificateFromPrecommits,
  heightOf,
  type Proposal,
  proposalSignatureValid,
  type SignatureCheck,
  senderOf,
  signProposal,
  signVote,
  type Vote,
  type VoteType,
  voteSignatureValid,
} from './messages.ts';
import { proposerIn, scheduleOrder } from './schedule.ts';
import { type SignedEntry, type SignedVoteLog, type SlotType, slotOf } from './signed-log.ts';

export type Step = 'propose' | 'prevote' | 'precommit';

/** What consensus needs from the application (the chain): ABCI's narrow waist. */
export interface ConsensusApplication {
  /** The authorities whose votes count at `height`. */
  authoritiesAt(height: number): readonly Hex[];
  /** getValue() of the paper: a new block for `height`, without a certificate. */
  proposeBlock(height: number, round: number): Block;
  /** valid(v) of the paper. Must not throw; false for anything it cannot accept. */
  isValidBlock(block: Block): boolean;
}

export interface TimeoutSchedule {
  readonly baseMs: number;
  /** Added per round, so that after GST the timeouts eventually exceed the real message delay. */
  readonly perRoundMs: number;
  /**
   * The growth stops here (default: base + 10 rounds). Without a cap a long outage leaves every
   * node at a high round whose timeouts are minutes long, and a healed network then waits that
   * long for the next round — the "network halts" that QBFT operators report. A cap keeps
   * liveness: once the real message delay is below it, rounds succeed again.
   */
  readonly maxMs?: number;
}

/** Rounds of growth allowed when a schedule names no cap. */
export const DEFAULT_CAP_ROUNDS = 10;

/** The timeout of `step` in `round` under `timeouts`: base + round × perRound, capped. */
export function timeoutFor(t: TimeoutSchedule, round: number): number {
  return Math.min(t.baseMs + round * t.perRoundMs, t.maxMs ?? t.baseMs + DEFAULT_CAP_ROUNDS * t.perRoundMs);
}

export interface Timeouts {
  readonly propose: TimeoutSchedule;
  readonly prevote: TimeoutSchedule;
  readonly precommit: TimeoutSchedule;
}

/** CometBFT's defaults. */
export const DEFAULT_TIMEOUTS: Timeouts = {
  propose: { baseMs: 3000, perRoundMs: 500 },
  prevote: { baseMs: 1000, perRoundMs: 500 },
  precommit: { baseMs: 1000, perRoundMs: 500 },
};

export interface TimeoutEvent {
  readonly height: number;
  readonly round: number;
  readonly step: Step;
}

export type EngineOutput =
  | { readonly type: 'broadcast'; readonly message: ConsensusMessage }
  | ({ readonly type: 'schedule-timeout'; readonly delayMs: number } & TimeoutEvent)
  | { readonly type: 'decide'; readonly block: Block; readonly certificate: CommitCertificate }
  /** Two messages of the same kind, both validly signed by one authority for one height/round/type. */
  | { readonly type: 'evidence'; readonly first: ConsensusMessage; readonly second: ConsensusMessage };

export interface EngineOptions {
  readonly chainId: string;
  readonly signer: MessageSigner;
  readonly app: ConsensusApplication;
  readonly signedLog: SignedVoteLog;
  readonly timeouts?: Timeouts;
  /** Defaults to verifySignature; the simulator passes a memo of it shared by its nodes. */
  readonly signatureCheck?: SignatureCheck;
  /** Messages for the next height kept per authority until that height starts. */
  readonly maxBufferedPerAuthority?: number;
  /**
   * Rounds above ours in which one authority may hold messages at a time (CometBFT's "catch-up
   * rounds"). Without a bound a faulty authority could make us allocate a round per message.
   */
  readonly maxFutureRoundsPerAuthority?: number;
  /**
   * Whether an authority is known to be down (the host's judgement: nothing heard from it for a
   * while). Its proposer turns then wait only `silentProposeMs` for its proposal instead of the
   * full propose timeout. Timeouts never affect safety; a wrong guess costs one round.
   */
  readonly isSilent?: (authority: Hex) => boolean;
  readonly silentProposeMs?: number;
}

/**
 * Votes of one type in one round, counted per block hash (or nil). An honest authority casts one;
 * an equivocating one may be counted under each value it signed, as in the paper, where the
 * message log simply holds every message. That is safe (quorum intersection only counts honest
 * authorities) and needed for liveness: a polka an honest proposer saw, including a Byzantine
 * vote, must be visible to the others when the proposer relies on it (line 28).
 */
class VoteTally {
  readonly #byAuthority = new Map<Hex, Vote[]>();
  readonly #counts = new Map<Hex | null, number>();
  votesOf(authority: Hex): readonly Vote[] {
    return this.#byAuthority.get(authority) ?? [];
  }
  add(vote: Vote): void {
    const held = this.#byAuthority.get(vote.authority) ?? [];
    held.push(vote);
    this.#byAuthority.set(vote.authority, held);
    this.#counts.set(vote.blockHash, (this.#counts.get(vote.blockHash) ?? 0) + 1);
  }
  count(hash: Hex | null): number {
    return this.#counts.get(hash) ?? 0;
  }
  /** Distinct authorities that voted at all. */
  get size(): number {
    return this.#byAuthority.size;
  }
  /** The votes for `hash`, one per authority. */
  for(hash: Hex): Vote[] {
    const out: Vote[] = [];
    for (const held of this.#byAuthority.values()) {
      const vote = held.find((v) => v.blockHash === hash);
      if (vote) out.push(vote);
    }
    return out;
  }
  all(): Vote[] {
    return [...this.#byAuthority.values()].flat();
  }
}

/** Distinct values one authority may be counted under per round and vote type: a memory bound. */
const MAX_VALUES_PER_SLOT = 3;

class RoundState {
  /**
   * Validly signed proposals from proposer(h, r) by block hash, first received first. More than
   * one only from an equivocating proposer; we prevote on the first, but any of them can be the
   * one that gathers a polka or a commit.
   */
  readonly proposals = new Map<Hex, Proposal>();
  readonly prevotes = new VoteTally();
  readonly precommits = new VoteTally();
  /** Authorities with any message in this round, for the round skip (line 55). */
  readonly senders = new Set<Hex>();
  /** "for the first time" flags of lines 34, 36 and 47. */
  prevoteTimeoutScheduled = false;
  polkaSeen = false;
  precommitTimeoutScheduled = false;
}

interface NextHeight {
  readonly height: number;
  readonly order: Hex[];
  readonly members: Set<Hex>;
  readonly byAuthority: Map<Hex, ConsensusMessage[]>;
}

export class TendermintEngine {
  readonly #o: EngineOptions;
  readonly #me: Hex;
  readonly #timeouts: Timeouts;
  readonly #check: SignatureCheck;
  readonly #maxBuffered: number;
  readonly #maxFutureRounds: number;

  // State of the paper's process p, for the current height h_p.
  #height = 0;
  #round = 0;
  #step: Step = 'propose';
  #decided = false;
  #lockedValue: Block | null = null;
  #lockedHash: Hex | null = null;
  #lockedRound = -1;
  #validValue: Block | null = null;
  #validRound = -1;

  // The message log for h_p and what we derived from it.
  #rounds = new Map<number, RoundState>();
  #validity = new Map<Hex, boolean>();
  #order: Hex[] = [];
  #members = new Set<Hex>();
  #quorum = 0;
  #weakQuorum = 0;
  #futureRounds = new Map<Hex, Set<number>>();
  #reported = new Set<string>();
  #next: NextHeight | undefined;
  /** The height last finished, still checked for equivocation (late-evidence.ts). */
  readonly #late: LateEquivocationWatch;

  #out: EngineOutput[] = [];

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#me = options.signer.publicKey;
    this.#timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.#check = options.signatureCheck ?? verifySignature;
    this.#maxBuffered = options.maxBufferedPerAuthority ?? 16;
    this.#late = new LateEquivocationWatch(this.#check, this.#maxBuffered);
    this.#maxFutureRounds = options.maxFutureRoundsPerAuthority ?? 2;
  }

  get height(): number {
    return this.#height;
  }
  get round(): number {
    return this.#round;
  }
  get step(): Step {
    return this.#step;
  }
  get decided(): boolean {
    return this.#decided;
  }
  get lockedRound(): number {
    return this.#lockedRound;
  }
  get validRound(): number {
    return this.#validRound;
  }

  // -------------------------------------------------------------------------------------------
  // Input events

  /**
   * Starts height `height` (the chain's head is height - 1). Called once at boot and by the host
   * after it has committed the previous decision, or after block sync moved the head.
   */
  start(height: number): EngineOutput[] {
    if (!Number.isSafeInteger(height) || height < 1)
      throw new RangeError('height must be a positive integer');
    const buffered = this.#next?.height === height ? [...this.#next.byAuthority.values()].flat() : [];
    this.#resetHeight(height);
    this.#o.signedLog.prune(height);
    if (!this.#restoreFromLog()) this.#startRound(0);
    for (const m of buffered) this.#receive(m, true);
    this.#progress();
    return this.#flush();
  }

  onMessage(message: ConsensusMessage): EngineOutput[] {
    // Not started: this node is not (yet) an authority, e.g. an observer. Without a height there
    // is no quorum to count towards, and running the rules would schedule timeouts for height 0.
    if (this.#height === 0) return [];
    this.#receive(message, false);
    this.#progress();
    return this.#flush();
  }

  onProposal(proposal: Proposal): EngineOutput[] {
    return this.onMessage({ kind: 'proposal', proposal });
  }

  onVote(vote: Vote): EngineOutput[] {
    return this.onMessage({ kind: 'vote', vote });
  }

  onTimeout(t: TimeoutEvent): EngineOutput[] {
    if (t.height !== this.#height || this.#decided) return [];
    if (t.step === 'propose' && t.round === this.#round && this.#step === 'propose') {
      // lines 57-60, OnTimeoutPropose: no acceptable proposal in time
      this.#castVote('prevote', null);
      this.#step = 'prevote';
    } else if (t.step === 'prevote' && t.round === this.#round && this.#step === 'prevote') {
      // lines 61-64, OnTimeoutPrevote: 2f+1 prevotes but no polka in time
      this.#castVote('precommit', null);
      this.#step = 'precommit';
    } else if (t.step === 'precommit' && t.round === this.#round) {
      // lines 65-67, OnTimeoutPrecommit: 2f+1 precommits but no decision in time
      this.#startRound(this.#round + 1);
    }
    this.#progress();
    return this.#flush();
  }

  /**
   * Our own messages for this height, for the host to send again when the height makes no progress
   * for a while. The paper assumes gossip: a message one correct process received is eventually
   * received by all. Broadcasting once does not give that when messages are lost before GST, and
   * nodes can then wait forever (lines 34 and 47 need 2f+1 votes before a timeout is even
   * scheduled). Only our own: what others signed reaches a node that lacks it when that node asks
   * a peer for what it holds (`heldAt`, the host's stall pull) — re-flooding every held message
   * from every node cost N² gossip per stall.
   */
  rebroadcast(): EngineOutput[] {
    if (this.#height === 0 || this.#decided) return [];
    return this.#held()
      .filter((message) => senderOf(message) === this.#me)
      .map((message) => ({ type: 'broadcast', message }));
  }

  /**
   * Every proposal and vote held for `height` if it is the height this engine runs (decided or
   * not), else nothing: what a peer that lacks them asks for (CometBFT's reactor sends a peer the
   * proposal and votes of its height and round that it lacks; here the peer asks). Latest rounds
   * first, at most `max`: the rounds a lagging node is about to take part in.
   */
  heldAt(height: number, max: number): ConsensusMessage[] {
    if (height !== this.#height || height === 0) return [];
    const out: ConsensusMessage[] = [];
    for (const round of [...this.#rounds.keys()].sort((a, b) => b - a)) {
      const state = this.#rounds.get(round) as RoundState;
      for (const proposal of state.proposals.values()) out.push({ kind: 'proposal', proposal });
      for (const vote of [...state.precommits.all(), ...state.prevotes.all()])
        out.push({ kind: 'vote', vote });
      if (out.length >= max) break;
    }
    return out.slice(0, max);
  }

  /** Every proposal and vote held for this height. */
  #held(): ConsensusMessage[] {
    const out: ConsensusMessage[] = [];
    for (const state of this.#rounds.values()) {
      for (const proposal of state.proposals.values()) out.push({ kind: 'proposal', proposal });
      for (const vote of [...state.prevotes.all(), ...state.precommits.all()])
        out.push({ kind: 'vote', vote });
    }
    return out;
  }

  /**
   * The proposers of rounds before `round` at this height whose proposal never reached us: the
   * missed proposer turns behind a decision in a later round (a metric, and the cost of a dead
   * authority in the proposer rotation).
   */
  missedProposers(round: number): Hex[] {
    const missed: Hex[] = [];
    for (let r = 0; r < round; r++) {
      if ((this.#rounds.get(r)?.proposals.size ?? 0) === 0)
        missed.push(proposerIn(this.#order, this.#height, r));
    }
    return missed;
  }

  // -------------------------------------------------------------------------------------------
  // The rules

  #progress(): void {
    for (;;) {
      if (this.#decided) return;
      if (this.#decideRule()) return; // line 49
      if (this.#roundSkipRule()) continue; // line 55
      if (this.#prevoteRule()) continue; // lines 22 and 28
      this.#prevoteTimeoutRule(); // line 34
      if (this.#polkaRule()) continue; // line 36
      if (this.#nilPolkaRule()) continue; // line 44
      this.#precommitTimeoutRule(); // line 47
      return;
    }
  }

  /** StartRound(round), lines 11-21. */
  #startRound(round: number): void {
    this.#round = round;
    this.#step = 'propose';
    if (proposerIn(this.#order, this.#height, round) === this.#me) {
      const proposal = this.#ownProposal(round);
      if (proposal) {
        this.#storeProposal(proposal, blockHash(proposal.block.header));
        this.#broadcast({ kind: 'proposal', proposal });
        return;
      }
      // The application could not build a block; behave as a silent proposer would look to others.
    }
    this.#schedule('propose', round);
  }

  /** Lines 14-19: re-propose validValue_p if set, else getValue(); guarded by the signed log. */
  #ownProposal(round: number): Proposal | undefined {
    const signed = this.#signedIn('proposal', round);
    if (signed?.kind === 'proposal') return signed.proposal;
    let block = this.#validValue;
    if (block === null) {
      try {
        block = this.#o.app.proposeBlock(this.#height, round);
      } catch {
        return undefined;
      }
    }
    const proposal = signProposal(
      {
        chainId: this.#o.chainId,
        height: this.#height,
        round,
        block,
        validRound: this.#validValue === null ? -1 : this.#validRound,
      },
      this.#o.signer,
    );
    this.#o.signedLog.record({ kind: 'proposal', proposal });
    return proposal;
  }

  /**
   * Line 22: upon ⟨PROPOSAL, h_p, round_p, v, −1⟩ from proposer(h_p, round_p) while step_p = propose:
   *   prevote id(v) if valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v), else nil.
   * Line 28: upon ⟨PROPOSAL, h_p, round_p, v, vr⟩ from proposer(h_p, round_p) AND 2f+1
   *   ⟨PREVOTE, h_p, vr, id(v)⟩ while step_p = propose ∧ (vr ≥ 0 ∧ vr < round_p):
   *   prevote id(v) if valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v), else nil.
   */
  #prevoteRule(): boolean {
    if (this.#step !== 'propose') return false;
    const first = this.#roundState(this.#round).proposals.entries().next();
    if (first.done) return false;
    const [hash, proposal] = first.value;
    const vr = proposal.validRound;
    let acceptable: boolean;
    if (vr === -1) {
      acceptable =
        this.#valid(hash, proposal.block) && (this.#lockedRound === -1 || this.#lockedHash === hash);
    } else if (
      vr >= 0 &&
      vr < this.#round &&
      (this.#rounds.get(vr)?.prevotes.count(hash) ?? 0) >= this.#quorum
    ) {
      acceptable =
        this.#valid(hash, proposal.block) && (this.#lockedRound <= vr || this.#lockedHash === hash);
    } else {
      // A re-proposal whose polka we have not seen (yet): wait for it or for timeoutPropose.
      return false;
    }
    this.#castVote('prevote', acceptable ? hash : null);
    this.#step = 'prevote';
    return true;
  }

  /** Line 34: upon 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step_p = prevote for the first time. */
  #prevoteTimeoutRule(): void {
    const current = this.#roundState(this.#round);
    if (this.#step !== 'prevote' || current.prevoteTimeoutScheduled) return;
    if (current.prevotes.size < this.#quorum) return;
    current.prevoteTimeoutScheduled = true;
    this.#schedule('prevote', this.#round);
  }

  /**
   * Line 36: upon ⟨PROPOSAL, h_p, round_p, v, ∗⟩ from proposer(h_p, round_p) AND 2f+1
   * ⟨PREVOTE, h_p, round_p, id(v)⟩ while valid(v) ∧ step_p ≥ prevote for the first time:
   * lock on v and precommit it if still in prevote (38-41); in any case v becomes validValue (42-43).
   */
  #polkaRule(): boolean {
    const current = this.#roundState(this.#round);
    if (current.polkaSeen || this.#step === 'propose') return false;
    const polka = [...current.proposals].find(
      ([hash, p]) => current.prevotes.count(hash) >= this.#quorum && this.#valid(hash, p.block),
    );
    if (!polka) return false;
    const [hash, proposal] = polka;
    current.polkaSeen = true;
    if (this.#step === 'prevote') {
      this.#lockedValue = proposal.block;
      this.#lockedHash = hash;
      this.#lockedRound = this.#round;
      this.#castVote('precommit', hash, proposal.block);
      this.#step = 'precommit';
    }
    this.#validValue = proposal.block;
    this.#validRound = this.#round;
    return true;
  }

  /** Line 44: upon 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote: precommit nil. */
  #nilPolkaRule(): boolean {
    if (this.#step !== 'prevote') return false;
    if (this.#roundState(this.#round).prevotes.count(null) < this.#quorum) return false;
    this.#castVote('precommit', null);
    this.#step = 'precommit';
    return true;
  }

  /** Line 47: upon 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ for the first time. */
  #precommitTimeoutRule(): void {
    const current = this.#roundState(this.#round);
    if (current.precommitTimeoutScheduled || current.precommits.size < this.#quorum) return;
    current.precommitTimeoutScheduled = true;
    this.#schedule('precommit', this.#round);
  }

  /**
   * Line 49: upon ⟨PROPOSAL, h_p, r, v, ∗⟩ from proposer(h_p, r) AND 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩
   * while decision_p[h_p] = nil: decide v if valid(v). Any round r, so a node that fell behind in
   * rounds still accepts the decision for its height.
   */
  #decideRule(): boolean {
    for (const state of this.#rounds.values()) {
      for (const [hash, proposal] of state.proposals) {
        if (state.precommits.count(hash) < this.#quorum || !this.#valid(hash, proposal.block)) continue;
        const certificate = certificateFromPrecommits(state.precommits.for(hash));
        this.#decided = true;
        this.#late.watch(this.#height, this.#order, this.#held());
        this.#out.push({ type: 'decide', block: { ...proposal.block, certificate }, certificate });
        // Lines 52-54 (next height, reset, StartRound(0)) are the host's: it commits, then start().
        return true;
      }
    }
    return false;
  }

  /** Line 55: upon f+1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p: StartRound(round). */
  #roundSkipRule(): boolean {
    let target = -1;
    for (const [round, state] of this.#rounds) {
      if (round > this.#round && round > target && state.senders.size >= this.#weakQuorum) target = round;
    }
    if (target < 0) return false;
    this.#startRound(target);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #receive(m: ConsensusMessage, verified: boolean): void {
    if (this.#height === 0) return;
    const chainId = m.kind === 'vote' ? m.vote.chainId : m.proposal.chainId;
    if (chainId !== this.#o.chainId) return;
    const height = heightOf(m);
    if (height === this.#height + 1) {
      this.#bufferForNextHeight(m, verified);
      return;
    }
    // The height just finished: no longer counted, but still proof if its sender equivocated.
    if (height === this.#late.height && (height < this.#height || this.#decided)) {
      const proof = this.#late.observe(m);
      if (proof) this.#out.push({ type: 'evidence', ...proof });
      return;
    }
    // Older heights are final; heights further ahead are for block sync, not for us.
    if (height !== this.#height || this.#decided) return;
    if (m.kind === 'vote') this.#receiveVote(m.vote, verified);
    else this.#receiveProposal(m.proposal, verified);
  }

  #receiveVote(vote: Vote, verified: boolean): void {
    if (!this.#members.has(vote.authority) || !this.#roundAdmissible(vote.authority, vote.round)) return;
    const state = this.#roundState(vote.round);
    const tally = vote.type === 'prevote' ? state.prevotes : state.precommits;
    const held = tally.votesOf(vote.authority);
    // A duplicate costs a comparison, not a signature check.
    if (held.some((v) => v.blockHash === vote.blockHash) || held.length >= MAX_VALUES_PER_SLOT) return;
    if (!verified && !voteSignatureValid(vote, this.#check)) return;
    const first = held[0];
    if (first) this.#reportEquivocation({ kind: 'vote', vote: first }, { kind: 'vote', vote });
    tally.add(vote);
    this.#noteSender(state, vote.authority, vote.round);
  }

  #receiveProposal(proposal: Proposal, verified: boolean): void {
    const { round, block } = proposal;
    if (proposerIn(this.#order, this.#height, round) !== proposal.proposer) return;
    if (!(proposal.validRound >= -1 && proposal.validRound < round)) return;
    if (block.header.height !== this.#height || block.header.chainId !== this.#o.chainId) return;
    if (block.certificate !== null) return;
    if (!this.#roundAdmissible(proposal.proposer, round)) return;
    const state = this.#roundState(round);
    const hash = blockHash(block.header);
    const same = state.proposals.get(hash);
    if (same?.validRound === proposal.validRound) return; // a duplicate: no signature check
    if (!same && state.proposals.size >= MAX_VALUES_PER_SLOT) return;
    if (!verified && !proposalSignatureValid(proposal, hash, this.#check)) return;
    const first = state.proposals.values().next();
    if (!first.done)
      this.#reportEquivocation({ kind: 'proposal', proposal: first.value }, { kind: 'proposal', proposal });
    if (!same) this.#storeProposal(proposal, hash);
  }

  #storeProposal(proposal: Proposal, hash: Hex): void {
    const state = this.#roundState(proposal.round);
    if (!state.proposals.has(hash)) state.proposals.set(hash, proposal);
    this.#noteSender(state, proposal.proposer, proposal.round);
  }

  #noteSender(state: RoundState, authority: Hex, round: number): void {
    state.senders.add(authority);
    if (round > this.#round) {
      const rounds = this.#futureRounds.get(authority) ?? new Set<number>();
      rounds.add(round);
      this.#futureRounds.set(authority, rounds);
    }
  }

  /** At most `maxFutureRoundsPerAuthority` rounds above ours per authority hold messages. */
  #roundAdmissible(authority: Hex, round: number): boolean {
    if (round <= this.#round) return true;
    const rounds = this.#futureRounds.get(authority);
    if (!rounds || rounds.has(round)) return true;
    for (const r of rounds) if (r <= this.#round) rounds.delete(r);
    return rounds.size < this.#maxFutureRounds;
  }

  /**
   * Messages for h_p + 1 arrive while we finish h_p (others decided a little earlier). They are
   * checked now, kept per authority up to a bound, and replayed when that height starts.
   */
  #bufferForNextHeight(m: ConsensusMessage, verified: boolean): void {
    const height = this.#height + 1;
    if (this.#next?.height !== height) {
      const order = scheduleOrder(this.#o.app.authoritiesAt(height));
      this.#next = { height, order, members: new Set(order), byAuthority: new Map() };
    }
    const next = this.#next;
    const sender = senderOf(m);
    if (!next.members.has(sender)) return;
    if (m.kind === 'proposal' && proposerIn(next.order, height, m.proposal.round) !== sender) return;
    const held = next.byAuthority.get(sender) ?? [];
    if (held.length >= this.#maxBuffered) return;
    const signature = m.kind === 'vote' ? m.vote.signature : m.proposal.signature;
    if (held.some((h) => (h.kind === 'vote' ? h.vote.signature : h.proposal.signature) === signature)) return;
    if (!verified) {
      const ok =
        m.kind === 'vote'
          ? voteSignatureValid(m.vote, this.#check)
          : proposalSignatureValid(m.proposal, blockHash(m.proposal.block.header), this.#check);
      if (!ok) return;
    }
    held.push(m);
    next.byAuthority.set(sender, held);
  }

  #reportEquivocation(first: ConsensusMessage, second: ConsensusMessage): void {
    const slot = first.kind === 'vote' ? first.vote.type : 'proposal';
    const key = `${senderOf(first)}/${heightOf(first)}/${first.kind === 'vote' ? first.vote.round : first.proposal.round}/${slot}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#out.push({ type: 'evidence', first, second });
  }

  // -------------------------------------------------------------------------------------------
  // Signing and bookkeeping

  /** Signs (or re-sends what the log says we already signed) and counts our own vote. */
  #castVote(type: VoteType, hash: Hex | null, block?: Block): void {
    const signed = this.#signedIn(type, this.#round);
    let vote: Vote;
    if (signed?.kind === 'vote') {
      // Signed before a restart: never sign a second, possibly different vote for this slot.
      vote = signed.vote;
    } else {
      vote = signVote(
        { chainId: this.#o.chainId, type, height: this.#height, round: this.#round, blockHash: hash },
        this.#o.signer,
      );
      const entry: SignedEntry =
        type === 'precommit' && hash !== null && block
          ? { kind: 'vote', vote, block }
          : { kind: 'vote', vote };
      this.#o.signedLog.record(entry);
    }
    const state = this.#roundState(this.#round);
    const tally = type === 'prevote' ? state.prevotes : state.precommits;
    if (tally.votesOf(this.#me).length === 0) {
      tally.add(vote);
      this.#noteSender(state, this.#me, this.#round);
    }
    this.#broadcast({ kind: 'vote', vote });
  }

  #signedIn(type: SlotType, round: number): SignedEntry | undefined {
    return this.#o.signedLog.signedAt(this.#height).find((e) => {
      const slot = slotOf(e);
      return slot.round === round && slot.type === type;
    });
  }

  /**
   * After a restart at a height we already signed in: take back our own messages, the lock our
   * last precommit for a block implies, and the round and step we had reached, then re-send that
   * round's messages (peers may have missed them while we were down).
   */
  #restoreFromLog(): boolean {
    const entries = this.#o.signedLog.signedAt(this.#height);
    if (entries.length === 0) return false;
    let round = 0;
    for (const entry of entries) {
      round = Math.max(round, slotOf(entry).round);
      if (entry.kind === 'proposal') {
        this.#storeProposal(entry.proposal, blockHash(entry.proposal.block.header));
        continue;
      }
      const { vote } = entry;
      const state = this.#roundState(vote.round);
      (vote.type === 'prevote' ? state.prevotes : state.precommits).add(vote);
      state.senders.add(this.#me);
      if (
        vote.type === 'precommit' &&
        vote.blockHash !== null &&
        entry.block &&
        vote.round > this.#lockedRound
      ) {
        this.#lockedValue = entry.block;
        this.#lockedHash = vote.blockHash;
        this.#lockedRound = vote.round;
      }
    }
    this.#validValue = this.#lockedValue;
    this.#validRound = this.#lockedRound;
    const hasVote = (type: VoteType) => this.#signedIn(type, round) !== undefined;
    if (hasVote('precommit') || hasVote('prevote')) {
      this.#round = round;
      this.#step = hasVote('precommit') ? 'precommit' : 'prevote';
      for (const entry of entries) {
        if (entry.kind === 'vote' && entry.vote.round === round)
          this.#broadcast({ kind: 'vote', vote: entry.vote });
      }
    } else {
      this.#startRound(round);
    }
    return true;
  }

  #resetHeight(height: number): void {
    // Decided here: the watch was set then. Otherwise (synced past it, or just started) it is set
    // now, with what was held if the engine ran that height.
    if (height > 1 && this.#late.height !== height - 1) {
      const ran = this.#height === height - 1;
      this.#late.watch(
        height - 1,
        ran ? this.#order : this.#o.app.authoritiesAt(height - 1),
        ran ? this.#held() : [],
      );
    }
    this.#height = height;
    this.#round = 0;
    this.#step = 'propose';
    this.#decided = false;
    this.#lockedValue = null;
    this.#lockedHash = null;
    this.#lockedRound = -1;
    this.#validValue = null;
    this.#validRound = -1;
    this.#rounds = new Map();
    this.#validity = new Map();
    this.#futureRounds = new Map();
    this.#reported = new Set();
    this.#order = scheduleOrder(this.#o.app.authoritiesAt(height));
    this.#members = new Set(this.#order);
    const n = this.#order.length;
    this.#quorum = quorum(n);
    this.#weakQuorum = n - this.#quorum + 1;
    if (this.#next && this.#next.height !== height + 1) this.#next = undefined;
  }

  #roundState(round: number): RoundState {
    let state = this.#rounds.get(round);
    if (!state) {
      state = new RoundState();
      this.#rounds.set(round, state);
    }
    return state;
  }

  /** valid(v), asked once per block: re-executing a block is the most expensive thing we do. */
  #valid(hash: Hex, block: Block): boolean {
    let valid = this.#validity.get(hash);
    if (valid === undefined) {
      try {
        valid = this.#o.app.isValidBlock(block);
      } catch {
        valid = false;
      }
      this.#validity.set(hash, valid);
    }
    return valid;
  }

  #schedule(step: Step, round: number): void {
    const t = this.#timeouts[step];
    let delayMs = timeoutFor(t, round);
    if (step === 'propose' && this.#o.isSilent?.(proposerIn(this.#order, this.#height, round)))
      delayMs = Math.min(delayMs, this.#o.silentProposeMs ?? t.baseMs / 6);
    this.#out.push({ type: 'schedule-timeout', height: this.#height, round, step, delayMs });
  }

  #broadcast(message: ConsensusMessage): void {
    this.#out.push({ type: 'broadcast', message });
  }

  #flush(): EngineOutput[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
