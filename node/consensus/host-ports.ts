/**
 * What the consensus host (host.ts) is given by its adapter — consortium.ts in production, the
 * simulator in test/sim/ — and what it reports back. Kept apart from the host so that an adapter
 * reads only the contract, and the host's modules share one declaration of it.
 */
import type { Chain } from '../chain/chain.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { Block } from '../protocol/block.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import type { MessageSigner } from '../protocol/signature.ts';
import type { HeightSteps } from './height-trace.ts';
import type { EngineOutput, Timeouts } from './tendermint/engine.ts';
import type { ConsensusMessage, SignatureCheck } from './tendermint/messages.ts';
import type { SignedVoteLog } from './tendermint/signed-log.ts';

/**
 * How often the host looks for a stall (and, as an observer, tells its height), and how long a
 * block request may stay unanswered: production's values, which the simulator's fault scenarios
 * run with too. The request deadline equals the sync protocol's own (p2p/sync.ts).
 */
export const DEFAULT_TICK_MS = 1000;
export const DEFAULT_SYNC_TIMEOUT_MS = 10_000;
/**
 * How long a height may go without progress before this node re-sends its own proposal and votes
 * for it and asks a peer for what that peer holds (HostNetwork.requestHeld). Longer than a height
 * takes when nothing is lost (a few hundred ms, seconds on a loaded box). It was 1 s for a while
 * because a node behind by sync rejoined live consensus only through a re-send (the joining test
 * failed 4 of 7 runs at 3 s); that node now keeps and asks for what it lacks (early-messages.ts,
 * host.ts onBlocks), so the stall is again only for messages lost on the way.
 */
export const DEFAULT_STALL_MS = 3000;
/** Most messages a node answers a requestHeld with: latest rounds first (tendermint/engine.ts heldAt). */
export const MAX_HELD_MESSAGES = 256;

/** Virtual or real time, and timers on it. A timer's callback is awaited by the simulator. */
export interface HostTimers {
  now(): number;
  set(delayMs: number, run: () => Promise<void>): number;
  clear(id: number): void;
}

/** What the host sends. Peers are opaque ids chosen by the adapter. */
export interface HostNetwork {
  broadcast(message: ConsensusMessage): void;
  /** Tells peers our head height. */
  status(height: number): void;
  /** Asks `peer` for blocks from `fromHeight` on; the answer comes back through onBlocks or onSyncFailed. */
  requestBlocks(peer: string, fromHeight: number): void;
  /**
   * Asks a peer for every proposal and vote it holds for `height` (ConsensusHost.held); each one
   * comes back through admit and onMessage, as gossip does. `peer` unset: the adapter picks one,
   * a different one each time, so a node that keeps asking reaches every peer.
   */
  requestHeld(height: number, peer?: string): void;
  /** `peer` served a block that fails validation: provably faulty. */
  punish(peer: string, reason: string): void;
}

/** What the host reports; all optional (metrics, logs, the simulator's bookkeeping). */
export interface HostEvents {
  committed?(block: Block, how: 'consensus' | 'sync'): void;
  heightStarted?(height: number): void;
  /** A height was decided in `round`; `missed` lists the proposers of earlier rounds whose proposal never arrived. */
  decided?(height: number, round: number, missed: readonly Hex[]): void;
  roundChanged?(height: number, round: number): void;
  evidence?(output: Extract<EngineOutput, { type: 'evidence' }>): void;
  dropped?(hash: Hex, error: TillidError): void;
  commitFailed?(height: number, error: unknown): void;
  caughtUp?(from: number, to: number, peer: string): void;
  /** A stalled height's own proposal and votes were re-sent (`messages` of them). */
  resent?(messages: readonly ConsensusMessage[]): void;
  /** A round-0 height this node ran and committed, and how long each of its steps took (height-trace.ts). */
  heightTimed?(height: number, steps: HeightSteps, transactions: number): void;
  /** `authority`'s proposer turn at `height` waits only the short propose timeout: not heard from lately. */
  proposerSilent?(height: number, authority: Hex): void;
  /** A node that lost its signed-vote log learnt the first height it may sign at (rejoin.ts). */
  rejoinBounded?(voteFrom: number): void;
}

export interface ConsensusHostOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly timers: HostTimers;
  readonly network: HostNetwork;
  /** Block timestamps (a wall clock; virtual in the simulator). */
  readonly clock: () => number;
  /** Absent for an observer: it follows by sync and votes on nothing. */
  readonly authority?: { readonly signer: MessageSigner; readonly signedLog: SignedVoteLog };
  readonly timeouts?: Timeouts;
  readonly signatureCheck?: SignatureCheck;
  /** Pause after a commit before the next height starts (CometBFT's timeout_commit), unless a full block waits. */
  readonly blockIntervalMs: number;
  /** With an empty mempool, the wait before an empty block; work or another authority's start ends it. */
  readonly emptyBlockIntervalMs?: number;
  /** How often the host looks for a stall; a height without progress for stallMs (DEFAULT_STALL_MS) is re-sent. */
  readonly tickIntervalMs?: number;
  readonly stallMs?: number;
  /** A block request unanswered for this long is given up, and another peer may be asked. */
  readonly syncTimeoutMs?: number;
  readonly events?: HostEvents;
}
