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
import type { PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/hash.ts';
import { MAX_TX_BYTES } from '../protocol/transaction.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { Host } from './host.ts';

/** A transaction's frame: its canonical size plus room for JSON's own spelling of it. */
const MAX_TX_FRAME = 2 * MAX_TX_BYTES;
/** `"<64 hex>",` per hash, plus the object around them. */
const requestFrame = (max: number) => 67 * max + 64;

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: { subarray(): Uint8Array }) => JSON.parse(new TextDecoder().decode(bytes.subarray()));
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
  await host.handle(txFetchProtocol(chainId), async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: requestFrame(options.max) });
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const hashes = decode(await lp.read({ signal }))?.hashes;
      if (
        !Array.isArray(hashes) ||
        hashes.length > options.max ||
        !hashes.every((h) => typeof h === 'string' && HASH.test(h))
      ) {
        stream.abort(new Error('bad transaction request'));
        return;
      }
      const found = [...new Set(hashes as Hex[])].map(lookup).filter((tx) => tx !== undefined);
      await lp.write(encode({ count: found.length }), { signal });
      for (const tx of found) await lp.write(encode(tx), { signal });
      await stream.close({ signal });
    } catch (e) {
      log.debug({ err: (e as Error).message }, 'transaction request failed');
      stream.abort(e as Error);
    }
  });
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
  const signal = AbortSignal.timeout(options.timeoutMs);
  const stream = await host.dialProtocol(peer, txFetchProtocol(chainId), { signal });
  const lp = lpStream(stream, { maxDataLength: MAX_TX_FRAME });
  try {
    await lp.write(encode({ hashes }), { signal });
    const n = Number(decode(await lp.read({ signal }))?.count);
    if (!Number.isSafeInteger(n) || n < 0 || n > hashes.length) throw new Error('bad transaction response');
    const transactions: unknown[] = [];
    for (let i = 0; i < n; i++) transactions.push(decode(await lp.read({ signal })));
    await stream.close({ signal }).catch(() => {});
    return transactions;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  }
}
