/**
 * The `events` section of the gateway's configuration (gateway/plugins/events.ts reads it). AMQP
 * delivery is on exactly when `events.amqp` is given, and then its `url` is required.
 */
import { isUrlOf, need, positiveInteger, section } from '../config-check.ts';

export interface EventsConfig {
  /** Where delivery cursors and webhook subscriptions live; default `<keyStoreDir>/../events`. */
  readonly stateDir?: string;
  readonly amqp?: {
    /** `amqp://…` or `amqps://…` (TLS, as the event distributor requires); may carry credentials. */
    readonly url: string;
    readonly exchange?: string;
    readonly queuePrefix?: string;
    /** CVRs whose queues exist from the start; default every municipality and provider served. */
    readonly receivers?: readonly string[];
  };
  /** How often delivery polls the nodes' event feed when caught up, in ms. */
  readonly pollIntervalMs?: number;
}

const KEYS = ['stateDir', 'amqp', 'pollIntervalMs'] as const;
const AMQP_KEYS = ['url', 'exchange', 'queuePrefix', 'receivers'] as const;

export function eventsConfig(raw: unknown, path: (p: string) => string): EventsConfig {
  const e = section(raw, 'events', KEYS);
  if (e.stateDir !== undefined)
    need(typeof e.stateDir === 'string' && e.stateDir !== '', 'events.stateDir must be a path');
  if (e.pollIntervalMs !== undefined)
    need(positiveInteger(e.pollIntervalMs, 10), 'events.pollIntervalMs must be an integer ≥ 10');
  let amqp: EventsConfig['amqp'];
  if (e.amqp !== undefined) {
    const a = section(e.amqp, 'events.amqp', AMQP_KEYS);
    need(isUrlOf(a.url, ['amqp:', 'amqps:']), 'events.amqp.url must be an amqp:// or amqps:// URL');
    for (const key of ['exchange', 'queuePrefix'] as const)
      if (a[key] !== undefined) need(typeof a[key] === 'string' && a[key] !== '', `events.amqp.${key}`);
    if (a.receivers !== undefined)
      need(
        Array.isArray(a.receivers) && a.receivers.every((c: unknown) => /^\d{8}$/.test(String(c))),
        'events.amqp.receivers must be a list of CVRs',
      );
    amqp = {
      url: a.url,
      ...(a.exchange ? { exchange: a.exchange } : {}),
      ...(a.queuePrefix ? { queuePrefix: a.queuePrefix } : {}),
      ...(a.receivers ? { receivers: a.receivers.map(String) } : {}),
    };
  }
  return {
    ...(e.stateDir ? { stateDir: path(e.stateDir) } : {}),
    ...(amqp ? { amqp } : {}),
    ...(e.pollIntervalMs !== undefined ? { pollIntervalMs: e.pollIntervalMs } : {}),
  };
}
