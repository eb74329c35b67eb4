/**
 * What the consortium adapter does with the consensus host's reports (host-ports.ts HostEvents):
 * log lines, metrics, the node's callbacks, and handing proposals that waited for the head to
 * proposal assembly when a block lands. Kept apart from the adapter's wiring (consortium.ts).
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { HostEvents } from './host-ports.ts';
import type { RoundMetrics } from './metrics.ts';
import { type ConsensusMessage, senderOf } from './tendermint/messages.ts';

export interface ConsortiumReports {
  readonly log: Logger;
  readonly now: () => number;
  readonly evidence: Counter<'kind'>;
  readonly rounds?: RoundMetrics;
  readonly resent?: Counter<'kind'>;
  readonly onDropped?: (hash: Hex, error: TillidError) => void;
  readonly onEvidence?: (first: ConsensusMessage, second: ConsensusMessage) => void;
}

/** The host's events for a consortium node; `headMoved` is proposal assembly's (proposal-assembly.ts). */
export function consortiumEvents(o: ConsortiumReports, headMoved: () => void): HostEvents {
  const { log, rounds } = o;
  return {
    evidence: ({ first, second }) => {
      o.evidence.inc({ kind: first.kind });
      log.warn({ authority: senderOf(first), kind: first.kind }, 'equivocation');
      o.onEvidence?.(first, second);
    },
    ...(o.onDropped ? { dropped: o.onDropped } : {}),
    commitFailed: (height, err) => log.error({ err, height }, 'commit of a decided block failed'),
    // Each synced block's commit already handed waiting proposals over (`committed`), and the host
    // keeps them until its engine reaches their height (early-messages.ts): no second hand-over.
    caughtUp: (from, to, peer) => log.info({ from, to, peer }, 'caught up by block sync'),
    resent: (messages) => {
      for (const m of messages) o.resent?.inc({ kind: m.kind });
    },
    rejoinBounded: (voteFrom) =>
      log.warn(
        { voteFrom },
        'signed-vote log lost: the other authorities told their heads; signing again from this height',
      ),
    committed: () => {
      rounds?.finalized(o.now());
      headMoved();
    },
    decided: (height, round, missed) => rounds?.decided(height, round, missed),
    proposerSilent: (height, authority) =>
      log.debug(
        { height, authority },
        'proposer not heard from lately: its turn waits the short propose timeout',
      ),
    heightTimed: (height, steps, transactions) => {
      rounds?.stepsTimed(steps);
      log.debug({ height, transactions, steps }, 'height steps (ms)');
    },
    roundChanged: (height, round) => {
      rounds?.roundChanged();
      log.info({ height, round }, 'round change');
    },
  };
}
