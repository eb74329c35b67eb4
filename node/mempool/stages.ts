/**
 * Where a transaction's time goes on its way to a block, as an operator sees it on /metrics
 * (`tillid_tx_stage_seconds{stage}`) and bench:network prints it. Observation only: the clock read
 * here is the node's monotonic clock, and nothing a block holds or a vote decides depends on it.
 *
 * Stages, each timed on one node:
 * - `admit`: a client's submission, from reaching admission to entering the mempool (the wait for
 *   an admission turn, decoding, duplicate lookups, the signature on a verifier thread);
 * - `gossip_send`: from entering the mempool here to leaving in a gossip batch to the peers;
 * - `gossip_admit`: a peer's gossiped transaction, from the batch's arrival to entering the mempool;
 * - `to_proposal`: from entering the mempool to being named in a proposal this node made or
 *   validated (the wait for the next height, and for a block with room);
 * - `assembly`: per proposal, not per transaction: from a peer's proposal (naming hashes) reaching
 *   this node to the engine getting it whole (0 when every transaction was already here);
 * - `to_commit`: from being named in a proposal to being committed here (execution, votes, commit).
 */
export type TxStage = 'admit' | 'gossip_send' | 'gossip_admit' | 'to_proposal' | 'assembly' | 'to_commit';

export const TX_STAGES: readonly TxStage[] = [
  'admit',
  'gossip_send',
  'gossip_admit',
  'to_proposal',
  'assembly',
  'to_commit',
];

/** Receives each stage's duration in seconds. */
export interface TxStageObserver {
  observe(stage: TxStage, seconds: number): void;
}

/** Milliseconds from a monotonic clock (performance.now, or a test's). */
export type StageClock = () => number;

export const monotonic: StageClock = () => performance.now();
