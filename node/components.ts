/**
 * Every part of a node, as one components object (js-libp2p's pattern): node.ts builds it, and
 * each part's constructor is handed the few components it declares — parts never reach into this
 * object themselves. One Lifecycle (lifecycle.ts) starts the parts that live and stops them.
 */
import type { FastifyInstance } from 'fastify';
import type { ChainActivity } from './api/activity.ts';
import type { NodeMetrics } from './api/metrics.ts';
import type { Chain } from './chain/chain.ts';
import type { NodeConfig } from './config.ts';
import type { Consensus } from './consensus/consensus.ts';
import type { FileSignedVoteLog } from './consensus/tendermint/file-signed-log.ts';
import type { Logger } from './log.ts';
import type { TransactionIntake } from './mempool/intake.ts';
import type { Mempool } from './mempool/mempool.ts';
import type { VerifierPool } from './mempool/verifier-pool.ts';
import type { RunningHost } from './p2p/host.ts';
import type { TxGossip } from './p2p/tx-gossip.ts';
import type { MessageSigner } from './protocol/signature.ts';

export interface NodeComponents {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly chain: Chain;
  /** Signs this node's proposals, votes and commits (a key file's or an HSM's). */
  readonly signer: MessageSigner;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly verifierPool: VerifierPool | undefined;
  readonly intake: TransactionIntake;
  readonly activity: ChainActivity;
  /** Absent for a solo authority, which has no peers. */
  readonly network: { running: RunningHost; txGossip: TxGossip; signedLog: FileSignedVoteLog } | undefined;
  readonly consensus: Consensus;
  readonly api: FastifyInstance;
}
