/**
 * Where one height's time goes at this node, step by step, on the host's clock (virtual in the
 * simulator, so nothing here reads a wall clock of its own). A height runs: the wait after the
 * previous commit (pacing.ts), this node's own proposal (proposer: assemble, execute, sign, send)
 * or the proposal arriving (others: the proposer's work, gossip, fetching missing transactions),
 * validating it up to this node's own prevote (execution and the signed-vote log's write), the
 * prevotes of a quorum up to its own precommit, the precommits up to the decision, and the commit
 * (the store's write with its fsync, and what listens to commits). An operator sees which step a
 * slow network waits on (`tillid_consensus_step_seconds{step}`); the K1 bench prints the same split.
 *
 * Only round-0 heights decided without a round change are timed step by step: in a later round the
 * steps repeat and the split says nothing about the serial path (the rounds metrics cover them).
 */
import type { ConsensusMessage } from './tendermint/messages.ts';

/** The steps of one height, in order; each a duration in ms. */
export const HEIGHT_STEPS = [
  'wait',
  'propose',
  'proposal',
  'validate',
  'prevotes',
  'precommits',
  'commit',
] as const;
export type HeightStep = (typeof HEIGHT_STEPS)[number];
export type HeightSteps = Partial<Record<HeightStep, number>>;

export class HeightTrace {
  readonly #now: () => number;
  #height = 0;
  /** When the last commit ended: the start of the next height's wait. */
  #committedAt: number | undefined;
  #startedAt: number | undefined;
  #proposalAt: number | undefined;
  #ownProposalAt: number | undefined;
  #prevoteAt: number | undefined;
  #precommitAt: number | undefined;
  #decidedAt: number | undefined;
  #roundChanged = false;
  /** A proposal for the height after the running one came early (the engine keeps it until then). */
  #nextProposal: number | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  started(height: number): void {
    this.#height = height;
    this.#startedAt = this.#now();
    this.#proposalAt = this.#nextProposal === height ? this.#startedAt : undefined;
    this.#nextProposal = undefined;
    this.#ownProposalAt = this.#prevoteAt = this.#precommitAt = undefined;
    this.#decidedAt = undefined;
    this.#roundChanged = false;
  }

  /** A proposal of the running height reached the engine (after any missing transactions were fetched). */
  received(message: ConsensusMessage): void {
    if (message.kind !== 'proposal') return;
    if (message.proposal.height === this.#height) this.#proposalAt ??= this.#now();
    else if (message.proposal.height === this.#height + 1) this.#nextProposal = this.#height + 1;
  }

  /** This node sent one of its own messages. */
  sent(message: ConsensusMessage): void {
    const at = this.#now();
    if (message.kind === 'proposal') {
      if (message.proposal.height === this.#height) this.#ownProposalAt ??= at;
    } else if (message.vote.height === this.#height) {
      if (message.vote.type === 'prevote') this.#prevoteAt ??= at;
      else this.#precommitAt ??= at;
    }
  }

  roundChanged(): void {
    this.#roundChanged = true;
  }

  decided(): void {
    this.#decidedAt = this.#now();
  }

  /**
   * The height's commit ended: its steps, or undefined when it is not a plain round-0 height of
   * this node's engine (a later round, or the height reached by block sync).
   */
  committed(height: number): HeightSteps | undefined {
    const at = this.#now();
    const last = this.#committedAt;
    this.#committedAt = at;
    const { startedAt, decidedAt, prevoteAt, precommitAt } = {
      startedAt: this.#startedAt,
      decidedAt: this.#decidedAt,
      prevoteAt: this.#prevoteAt,
      precommitAt: this.#precommitAt,
    };
    this.#startedAt = undefined;
    if (height !== this.#height || this.#roundChanged || startedAt === undefined) return undefined;
    if (decidedAt === undefined || prevoteAt === undefined || precommitAt === undefined) return undefined;
    const own = this.#ownProposalAt;
    const arrived = own ?? this.#proposalAt;
    if (arrived === undefined) return undefined;
    return {
      ...(last !== undefined && last <= startedAt ? { wait: startedAt - last } : {}),
      ...(own !== undefined ? { propose: own - startedAt } : { proposal: arrived - startedAt }),
      validate: Math.max(0, prevoteAt - arrived),
      prevotes: Math.max(0, precommitAt - prevoteAt),
      precommits: Math.max(0, decidedAt - precommitAt),
      commit: at - decidedAt,
    };
  }

  /** A block came by sync: the next wait counts from its commit. */
  synced(): void {
    this.#committedAt = this.#now();
  }
}
