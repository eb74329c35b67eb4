/**
 * The one request/response shape the fetch protocols share (tx-fetch.ts, held-fetch.ts): the
 * client sends one length-prefixed JSON frame; the server answers a frame `{ count: n }`, then n
 * frames. Every frame is bounded on both sides and the whole exchange times out, so a peer can
 * neither hold a stream open nor make either side buffer more than it allowed. What a frame means
 * — and whether an answer can be trusted — is the caller's business.
 */
import type { PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from '../log.ts';
import type { Host } from './host.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: { subarray(): Uint8Array }) => JSON.parse(new TextDecoder().decode(bytes.subarray()));

export interface ServeOptions {
  /** Largest request frame accepted. */
  readonly maxRequestBytes: number;
  readonly timeoutMs: number;
}

/**
 * Answers `protocol` with what `answer` returns for the decoded request; `undefined` means the
 * request is malformed and the stream is aborted. `what` names the exchange in debug logs.
 */
export async function serveFramed(
  host: Host,
  protocol: string,
  answer: (request: unknown) => readonly unknown[] | undefined,
  options: ServeOptions,
  log: Logger,
  what: string,
): Promise<void> {
  await host.handle(protocol, async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: options.maxRequestBytes });
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const frames = answer(decode(await lp.read({ signal })));
      if (frames === undefined) {
        stream.abort(new Error(`bad ${what} request`));
        return;
      }
      await lp.write(encode({ count: frames.length }), { signal });
      for (const frame of frames) await lp.write(encode(frame), { signal });
      await stream.close({ signal });
    } catch (e) {
      log.debug({ err: (e as Error).message }, `${what} request failed`);
      stream.abort(e as Error);
    }
  });
}

export interface RequestOptions {
  /** Largest answer frame accepted. */
  readonly maxFrameBytes: number;
  /** Most frames an answer may announce; more is a bad response. */
  readonly maxCount: number;
  readonly timeoutMs: number;
}

/** Sends `request` to `peer` over `protocol` and returns the answer's frames, decoded, unchecked. */
export async function requestFramed(
  host: Host,
  peer: PeerId,
  protocol: string,
  request: unknown,
  options: RequestOptions,
  what: string,
): Promise<unknown[]> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const stream = await host.dialProtocol(peer, protocol, { signal });
  const lp = lpStream(stream, { maxDataLength: options.maxFrameBytes });
  try {
    await lp.write(encode(request), { signal });
    const n = Number(decode(await lp.read({ signal }))?.count);
    if (!Number.isSafeInteger(n) || n < 0 || n > options.maxCount) throw new Error(`bad ${what} response`);
    const frames: unknown[] = [];
    for (let i = 0; i < n; i++) frames.push(decode(await lp.read({ signal })));
    await stream.close({ signal }).catch(() => {});
    return frames;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  }
}
