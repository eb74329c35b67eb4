/**
 * Held-message fetch: a request/response protocol with which a node asks a peer for every proposal
 * and vote that peer holds for one height — a node that caught up by block sync and reaches the
 * live height without its proposal and votes, or one whose height stalled (consensus/host.ts).
 * CometBFT's consensus reactor pushes a peer what it lacks for the peer's height and round, from
 * the peer's announced state; here the node that lacks them asks, which needs no per-peer round
 * state and costs nothing while no node lacks anything.
 *
 * Request: one length-prefixed JSON frame `{ height }`. Response: a frame `{ count: n }`, n ≤ `max`,
 * then n frames, each a message as it travels on gossip: `{ kind: 'proposal', proposal }` (the
 * compact form, consensus/compact-proposal.ts) or `{ kind: 'vote', vote }`. The server only reads
 * what its engine holds; the client trusts nothing it gets — the caller judges each message as a
 * gossiped one (shape, admission, proposer, signature). Every frame is bounded, and the exchange
 * times out.
 */
import type { PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { requestFramed, serveFramed } from './framed-exchange.ts';
import type { Host } from './host.ts';

export function heldFetchProtocol(chainId: string): string {
  return `/tillid/${chainId}/held/${PROTOCOL_VERSION}`;
}

export interface HeldFetchOptions {
  /** Most messages one answer may carry. */
  readonly max: number;
  /** Largest message frame: a compact proposal naming a block's worth of transaction hashes. */
  readonly maxFrame: number;
  readonly timeoutMs: number;
}

/** Serves what `held` returns for the height asked (already in wire form, at most `max`). */
export async function serveHeld(
  host: Host,
  chainId: string,
  held: (height: number) => readonly unknown[],
  options: HeldFetchOptions,
  log: Logger,
): Promise<void> {
  const answer = (request: unknown) => {
    const height = (request as { height?: unknown } | null)?.height;
    if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 1) return undefined;
    return held(height).slice(0, options.max);
  };
  await serveFramed(
    host,
    heldFetchProtocol(chainId),
    answer,
    { maxRequestBytes: 64, timeoutMs: options.timeoutMs },
    log,
    'held',
  );
}

/** Asks `peer` for what it holds for `height`. Returns what it sent, unchecked. */
export function fetchHeld(
  host: Host,
  chainId: string,
  peer: PeerId,
  height: number,
  options: HeldFetchOptions,
): Promise<unknown[]> {
  const limits = { maxFrameBytes: options.maxFrame, maxCount: options.max, timeoutMs: options.timeoutMs };
  return requestFramed(host, peer, heldFetchProtocol(chainId), { height }, limits, 'held');
}
