/**
 * What the consortium adapter (consortium.ts) is given: the node's components, its pacing and
 * timeouts, and where it reports (logs, metrics, callbacks).
 */

import type { Counter } from 'prom-client';
import type { Chain } from '../chain/chain.ts';
import type { Logger } from '../log.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { TxStageObserver } from '../mempool/stages.ts';
import type { Gossip } from '../p2p/gossip.ts';
import type { RunningHost } from '../p2p/host.ts';
import type { SyncTraffic } from '../p2p/sync.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { MessageSigner } from '../protocol/signature.ts';
import type { Transaction } from '../protocol/transaction.ts';
import type { RoundMetrics } from './metrics.ts';
import type { Timeouts } from './tendermint/engine.ts';
import type { ConsensusMessage } from './tendermint/messages.ts';
import type { SignedVoteLog } from './tendermint/signed-log.ts';

export interface ConsortiumOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly running: RunningHost;
  readonly gossip: Gossip;
  /** Absent for an observer. */
  readonly authority?: { readonly signer: MessageSigner; readonly signedLog: SignedVoteLog };
  readonly timeouts?: Timeouts;
  /** Pause after a commit before the next height starts (CometBFT's timeout_commit), unless the mempool holds a full block. */
  readonly blockIntervalMs: number;
  /**
   * With an empty mempool, how long to wait before producing an empty block (CometBFT's
   * create_empty_blocks_interval). Work arriving, or another authority starting the height, ends
   * the wait. Defaults to blockIntervalMs: empty blocks at the normal pace.
   */
  readonly emptyBlockIntervalMs?: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly evidence: Counter<'kind'>;
  /** Blocks received by sync that failed validation. */
  readonly syncRejected: Counter;
  /** Told about transactions this node's proposals left out for good. */
  readonly onDropped?: (hash: Hex, error: TillidError) => void;
  /** Told about two conflicting messages one authority signed. */
  readonly onEvidence?: (first: ConsensusMessage, second: ConsensusMessage) => void;
  /** Round metrics (rounds per height, round changes, missed proposals, last finalized). */
  readonly rounds?: RoundMetrics;
  /**
   * The signature rule for a transaction this node fetched for a proposal (on a verifier thread
   * where there is one; the verdict is remembered for block validation). Defaults to the main thread.
   */
  readonly verifyFetched?: (tx: Transaction, hash: Hex) => Promise<boolean>;
  /** Proposals made whole (local, fetched, failed) and fetched transactions by outcome. */
  readonly assembly?: {
    readonly proposals: Counter<'outcome'>;
    readonly transactions: Counter<'outcome'>;
    /** Receives `assembly`, per proposal (mempool/stages.ts). */
    readonly stages?: TxStageObserver;
  };
  /** This node's own proposals and votes re-sent after a stall, by kind. */
  readonly resent?: Counter<'kind'>;
  /** Block-sync requests, blocks and bytes, served and fetched. */
  readonly syncTraffic?: SyncTraffic;
}
