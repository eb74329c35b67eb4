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
import type { PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from '../log.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { Host } from './host.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: { subarray(): Uint8Array }) => JSON.parse(new TextDecoder().decode(bytes.subarray()));

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
  await host.handle(heldFetchProtocol(chainId), async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: 64 });
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const height = decode(await lp.read({ signal }))?.height;
      if (!Number.isSafeInteger(height) || height < 1) {
        stream.abort(new Error('bad held request'));
        return;
      }
      const messages = held(height).slice(0, options.max);
      await lp.write(encode({ count: messages.length }), { signal });
      for (const message of messages) await lp.write(encode(message), { signal });
      await stream.close({ signal });
    } catch (e) {
      log.debug({ err: (e as Error).message }, 'held request failed');
      stream.abort(e as Error);
    }
  });
}

/** Asks `peer` for what it holds for `height`. Returns what it sent, unchecked. */
export async function fetchHeld(
  host: Host,
  chainId: string,
  peer: PeerId,
  height: number,
  options: HeldFetchOptions,
): Promise<unknown[]> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const stream = await host.dialProtocol(peer, heldFetchProtocol(chainId), { signal });
  const lp = lpStream(stream, { maxDataLength: options.maxFrame });
  try {
    await lp.write(encode({ height }), { signal });
    const n = Number(decode(await lp.read({ signal }))?.count);
    if (!Number.isSafeInteger(n) || n < 0 || n > options.max) throw new Error('bad held response');
    const messages: unknown[] = [];
    for (let i = 0; i < n; i++) messages.push(decode(await lp.read({ signal })));
    await stream.close({ signal }).catch(() => {});
    return messages;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  }
}
