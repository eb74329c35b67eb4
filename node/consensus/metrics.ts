/**
 * Round metrics: how hard consensus works for each height, so an operator sees a struggling
 * network before it stalls — more rounds per height, round changes, one authority missing its
 * proposer turns, and the time since the last finalized block climbing.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Hex } from '../protocol/hash.ts';
import type { HeightSteps } from './height-trace.ts';

export class RoundMetrics {
  readonly #roundsPerHeight: Histogram;
  readonly #roundChanges: Counter;
  readonly #missed: Counter<'authority'>;
  readonly #steps: Histogram<'step'>;
  #lastFinalizedAt: number | undefined;

  constructor(registry: Registry, now: () => number = Date.now) {
    this.#roundsPerHeight = new Histogram({
      name: 'tillid_consensus_rounds_per_height',
      help: 'Rounds a height took to decide at this node (1 = decided in round 0)',
      buckets: [1, 2, 3, 4, 6, 10, 20],
      registers: [registry],
    });
    this.#roundChanges = new Counter({
      name: 'tillid_consensus_round_changes_total',
      help: 'Times this node moved to a higher round within a height (timeouts or f+1 peers ahead)',
      registers: [registry],
    });
    this.#missed = new Counter({
      name: 'tillid_consensus_missed_proposals_total',
      help: 'Proposer turns whose proposal never reached this node before the height was decided in a later round, by authority public key',
      labelNames: ['authority'] as const,
      registers: [registry],
    });
    this.#steps = new Histogram({
      name: 'tillid_consensus_step_seconds',
      help: 'Seconds each step of a round-0 height took at this node: wait (after the last commit), propose (own proposal built and sent) or proposal (until the proposal arrived), validate (to own prevote), prevotes (to own precommit), precommits (to the decision), commit (store write and fsync)',
      labelNames: ['step'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const self = this;
    new Gauge({
      name: 'tillid_consensus_seconds_since_finalized',
      help: 'Seconds since this node last committed a finalized block (by consensus or sync); 0 before the first',
      registers: [registry],
      collect() {
        this.set(self.#lastFinalizedAt === undefined ? 0 : (now() - self.#lastFinalizedAt) / 1000);
      },
    });
  }

  finalized(at: number): void {
    this.#lastFinalizedAt = at;
  }

  decided(_height: number, round: number, missed: readonly Hex[]): void {
    this.#roundsPerHeight.observe(round + 1);
    for (const authority of missed) this.#missed.inc({ authority });
  }

  /** The steps of one height (height-trace.ts), in ms. */
  stepsTimed(steps: HeightSteps): void {
    for (const [step, ms] of Object.entries(steps)) this.#steps.observe({ step }, ms / 1000);
  }

  roundChanged(): void {
    this.#roundChanges.inc();
  }
}
