/**
 * Transaction fetch: a request/response protocol with which a node that received a proposal
 * naming transactions it lacks (proposals carry hashes, consensus/compact-proposal.ts) asks a peer
 * for exactly those. The server answers from its pending transactions and never reads further;
 * the client trusts nothing it gets — the caller checks each transaction's hash and signature.
 *
 * Request: one length-prefixed JSON frame `{ hashes }` (at most `max` of them). Response: a frame
 * `{ count: n }` with n ≤ the hashes asked for, then n frames, one transaction each, those the
 * server holds. Every frame is bounded, and the whole exchange times out.
 */
import type { PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/hash.ts';
import { MAX_TX_BYTES } from '../protocol/transaction.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { requestFramed, serveFramed } from './framed-exchange.ts';
import type { Host } from './host.ts';

/** A transaction's frame: its canonical size plus room for JSON's own spelling of it. */
const MAX_TX_FRAME = 2 * MAX_TX_BYTES;
/** `"<64 hex>",` per hash, plus the object around them. */
const requestFrame = (max: number) => 67 * max + 64;

const HASH = /^[0-9a-f]{64}$/;

export function txFetchProtocol(chainId: string): string {
  return `/tillid/${chainId}/txs/${PROTOCOL_VERSION}`;
}

export interface TxFetchOptions {
  /** Most hashes one request may name: the chain's block limit. */
  readonly max: number;
  readonly timeoutMs: number;
}

/** Serves pending transactions by hash; `lookup` returns what this node holds, undefined otherwise. */
export async function serveTransactions(
  host: Host,
  chainId: string,
  lookup: (hash: Hex) => unknown,
  options: TxFetchOptions,
  log: Logger,
): Promise<void> {
  const answer = (request: unknown) => {
    const hashes = (request as { hashes?: unknown } | null)?.hashes;
    if (
      !Array.isArray(hashes) ||
      hashes.length > options.max ||
      !hashes.every((h) => typeof h === 'string' && HASH.test(h))
    ) {
      return undefined;
    }
    return [...new Set(hashes as Hex[])].map(lookup).filter((tx) => tx !== undefined);
  };
  const limits = { maxRequestBytes: requestFrame(options.max), timeoutMs: options.timeoutMs };
  await serveFramed(host, txFetchProtocol(chainId), answer, limits, log, 'transaction');
}

/** Asks `peer` for the transactions named by `hashes`. Returns what it sent, unchecked. */
export async function fetchTransactions(
  host: Host,
  chainId: string,
  peer: PeerId,
  hashes: readonly Hex[],
  options: TxFetchOptions,
): Promise<unknown[]> {
  if (hashes.length > options.max) throw new Error('too many hashes for one request');
  const limits = { maxFrameBytes: MAX_TX_FRAME, maxCount: hashes.length, timeoutMs: options.timeoutMs };
  return requestFramed(host, peer, txFetchProtocol(chainId), { hashes }, limits, 'transaction');
}
