/**
 * Block sync: a request/response protocol with which a node that was down, or is new, fetches the
 * finalized blocks it lacks from a peer. The server only reads; the client trusts nothing it gets —
 * the caller validates every block and its commit certificate before committing it.
 *
 * Request: one length-prefixed JSON frame `{ from, count }`. Response: a frame `{ count: n }`, then
 * n frames, each one block as stored.
 */
import type { PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Block } from '../protocol/block.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { Host } from './host.ts';

/** Blocks per request: bounded so one request cannot make a peer read its whole chain at once. */
export const MAX_SYNC_BLOCKS = 64;
const MAX_FRAME = 16 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

export interface BlockReader {
  height(): number;
  block(height: number): Promise<Block | undefined>;
}

/** Requests, blocks and bytes by side (served to a peer, fetched from one), for /metrics. */
export interface SyncTraffic {
  readonly requests: Counter<'side'>;
  readonly blocks: Counter<'side'>;
  readonly bytes: Counter<'side'>;
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: { subarray(): Uint8Array }) => JSON.parse(new TextDecoder().decode(bytes.subarray()));

export function protocolId(chainId: string): string {
  return `/tillid/${chainId}/sync/${PROTOCOL_VERSION}`;
}

export async function serveBlocks(
  host: Host,
  chainId: string,
  chain: BlockReader,
  log: Logger,
  traffic?: SyncTraffic,
): Promise<void> {
  await host.handle(protocolId(chainId), async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: 1024 });
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    try {
      const request = decode(await lp.read({ signal }));
      const from = Number(request?.from);
      const wanted = Number(request?.count);
      if (!Number.isSafeInteger(from) || from < 1 || !Number.isSafeInteger(wanted) || wanted < 1) {
        stream.abort(new Error('bad sync request'));
        return;
      }
      const last = Math.min(chain.height(), from + Math.min(wanted, MAX_SYNC_BLOCKS) - 1);
      const blocks: Block[] = [];
      for (let h = from; h <= last; h++) {
        const block = await chain.block(h);
        if (!block) break;
        blocks.push(block);
      }
      traffic?.requests.inc({ side: 'served' });
      await lp.write(encode({ count: blocks.length }), { signal });
      for (const block of blocks) {
        const frame = encode(block);
        traffic?.blocks.inc({ side: 'served' });
        traffic?.bytes.inc({ side: 'served' }, frame.length);
        await lp.write(frame, { signal });
      }
      await stream.close({ signal });
    } catch (e) {
      log.debug({ err: (e as Error).message }, 'sync request failed');
      stream.abort(e as Error);
    }
  });
}

/** Asks `peer` for up to `count` blocks from `from`. Returns them unvalidated. */
export async function fetchBlocks(
  host: Host,
  chainId: string,
  peer: PeerId,
  from: number,
  count: number,
  traffic?: SyncTraffic,
): Promise<unknown[]> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const stream = await host.dialProtocol(peer, protocolId(chainId), { signal });
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME });
  try {
    traffic?.requests.inc({ side: 'fetched' });
    await lp.write(encode({ from, count: Math.min(count, MAX_SYNC_BLOCKS) }), { signal });
    const header = decode(await lp.read({ signal }));
    const n = Number(header?.count);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SYNC_BLOCKS) throw new Error('bad sync response');
    const blocks: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const frame = await lp.read({ signal });
      traffic?.blocks.inc({ side: 'fetched' });
      traffic?.bytes.inc({ side: 'fetched' }, frame.byteLength);
      blocks.push(decode(frame));
    }
    await stream.close({ signal }).catch(() => {});
    return blocks;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  }
}
