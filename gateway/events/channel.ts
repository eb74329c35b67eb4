/**
 * The loop every delivery channel runs: read a page of finalized events after the channel's cursor,
 * deliver the new ones, advance the cursor only once the receiver confirmed, repeat. Failures (node
 * down, broker down, webhook failing) are retried with exponential backoff from the same cursor, so
 * an event is never skipped: at least once, in order.
 */
import { type CursorPosition, type DurableCursor, isAfter, positionAt } from './cursor.ts';
import type { ChainEvent, NodeEventFeed } from './feed.ts';

/** Minimal logger shape (pino's); messages never carry secrets. */
export interface EventLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLog: EventLog = { info() {}, warn() {}, error() {}, debug() {} };

export interface Backoff {
  /** First delay, ms; default 500. */
  readonly initialMs?: number;
  /** Longest delay, ms; default 60 000. */
  readonly maxMs?: number;
  /** Growth per failure; default 2. */
  readonly factor?: number;
}

/** Delay before retry number `attempt` (1, 2, …), with ±20 % jitter so receivers are not hit in step. */
export function backoffDelay(attempt: number, backoff: Backoff = {}, random = Math.random): number {
  const initial = backoff.initialMs ?? 500;
  const max = backoff.maxMs ?? 60_000;
  const base = Math.min(max, initial * (backoff.factor ?? 2) ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface ChannelOptions {
  readonly name: string;
  readonly feed: NodeEventFeed;
  readonly cursor: DurableCursor;
  /** Where a channel without a cursor starts (a height); default 0, the whole history. */
  readonly startAfter?: number | (() => Promise<number>);
  /**
   * Delivers events in order and resolves once every one is confirmed. It may call `confirmed(e)`
   * after each single confirmation, so that a failure midway does not repeat what got through.
   */
  readonly deliver: (
    events: readonly ChainEvent[],
    confirmed: (e: ChainEvent) => Promise<void>,
  ) => Promise<void>;
  readonly pollIntervalMs?: number;
  readonly backoff?: Backoff;
  readonly signal: AbortSignal;
  readonly log?: EventLog;
  /** Called after each failure and each success (for status reports and tests). */
  readonly onStatus?: (status: ChannelStatus) => void;
}

export interface ChannelStatus {
  readonly position: CursorPosition;
  readonly failures: number;
  readonly lastError?: string;
}

/** Runs until `signal` aborts; resolves then. */
export async function runChannel(options: ChannelOptions): Promise<void> {
  const log = options.log ?? silentLog;
  const poll = options.pollIntervalMs ?? 500;
  let position: CursorPosition | undefined;
  let failures = 0;
  const { signal } = options;
  while (!signal.aborted) {
    try {
      if (!position) {
        const start = options.startAfter ?? 0;
        position = (await options.cursor.read()) ?? {
          after: typeof start === 'number' ? start : await start(),
        };
        await options.cursor.write(position);
      }
      const page = await options.feed.page(position.after);
      const fresh = page.events.filter((e) => isAfter(position as CursorPosition, e));
      if (fresh.length > 0) {
        await options.deliver(fresh, async (e) => {
          position = positionAt(e);
          await options.cursor.write(position);
        });
        if (signal.aborted) break;
      }
      const moved = page.next > position.after;
      if (moved) {
        position = { after: page.next };
        await options.cursor.write(position);
      }
      if (failures > 0)
        log.info({ channel: options.name, after: position.after }, 'event delivery recovered');
      failures = 0;
      options.onStatus?.({ position, failures });
      if (!moved) await pause(poll, signal);
    } catch (e) {
      if (signal.aborted) break;
      failures++;
      const message = (e as Error).message;
      options.onStatus?.({ position: position ?? { after: 0 }, failures, lastError: message });
      const delay = backoffDelay(failures, options.backoff);
      log.warn(
        { channel: options.name, failures, retryInMs: delay, err: message },
        'event delivery failed; retrying',
      );
      await pause(delay, signal);
    }
  }
}
