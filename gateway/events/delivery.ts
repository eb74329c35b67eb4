/**
 * Events out: one process-wide start for every delivery channel.
 *
 *   const delivery = await startEventDelivery({ nodeUrls, stateDir, chainId, amqp: { url }, webhooks: true });
 *   app.register(eventRoutes, { feed: delivery.feed, webhooks: delivery.webhooks, chainId });
 *   …
 *   await delivery.stop();
 *
 * Each channel — the AMQP publisher, and each webhook subscription — follows the node's event feed
 * with its own durable cursor in `stateDir` (`runChannel`), so one slow or failing receiver never
 * holds up another, and each resumes where it was confirmed after a gateway restart.
 */

import { join } from 'node:path';
import type { NodeFetch } from '../node-fetch.ts';
import type { ProofChecker } from '../proofs/checker.ts';
import { type AmqpDeliveryOptions, AmqpEventPublisher } from './amqp.ts';
import { type Backoff, type ChannelStatus, type EventLog, runChannel, silentLog } from './channel.ts';
import { DurableCursor } from './cursor.ts';
import { type EventRouting, envelopeOf } from './envelope.ts';
import { type ChainEvent, NodeEventFeed } from './feed.ts';
import {
  deliverWebhook,
  type WebhookAttempt,
  WebhookRegistry,
  type WebhookSubscription,
  wants,
} from './webhooks.ts';

export interface EventDeliveryOptions {
  /** Node API URLs to read events from, tried in order (or pass a `feed`). */
  readonly nodeUrls?: readonly string[];
  readonly feed?: NodeEventFeed;
  /** How the feed calls node APIs (the router's, with the node CA). */
  readonly fetch?: NodeFetch;
  /** Take only event pages proven against the trusted genesis (gateway/proofs). */
  readonly proofs?: ProofChecker;
  /** Cursors and the webhook subscriptions file live here (a private, persistent volume). */
  readonly stateDir: string;
  /** Named in every envelope. */
  readonly chainId: string;
  /** AMQP delivery; omit to deliver no AMQP messages. */
  readonly amqp?: AmqpDeliveryOptions;
  /** Deliver webhooks to the subscriptions in `<stateDir>/webhooks.json`; default true. */
  readonly webhooks?: boolean;
  /** Where the AMQP channel starts without a cursor; default 0: the whole history. */
  readonly amqpStartAfter?: number;
  readonly pollIntervalMs?: number;
  /** Backoff between retries of a failing channel (node or broker down); default 0.5 s doubling to 60 s. */
  readonly backoff?: Backoff;
  /** Backoff between attempts at one webhook; default 1 s doubling to 5 min. */
  readonly webhookBackoff?: Backoff;
  readonly webhookTimeoutMs?: number;
  /** Who may receive each event; default `defaultRouting` (envelope.ts). */
  readonly route?: (event: ChainEvent) => EventRouting;
  readonly log?: EventLog;
}

export interface WebhookStatus {
  readonly id: string;
  readonly position?: ChannelStatus['position'];
  readonly lastAttempt?: WebhookAttempt & { readonly eventId: string; readonly at: string };
  readonly lastError?: string;
}

export interface EventDelivery {
  readonly feed: NodeEventFeed;
  /** Present unless `webhooks: false`; hand it to `eventRoutes` for subscription management. */
  readonly webhooks?: WebhookRegistry;
  /** Channel positions and last errors, for a status route or logs. */
  status(): { amqp?: ChannelStatus; webhooks: WebhookStatus[] };
  /** Stops every channel and closes the broker connection; cursors keep what was confirmed. */
  stop(): Promise<void>;
}

export async function startEventDelivery(options: EventDeliveryOptions): Promise<EventDelivery> {
  const feed =
    options.feed ??
    new NodeEventFeed({
      nodeUrls: options.nodeUrls ?? [],
      ...(options.proofs ? { proofs: options.proofs } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const log = options.log ?? silentLog;
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    running.add(p);
    p.finally(() => running.delete(p));
  };
  const toEnvelope = (e: ChainEvent) => envelopeOf(e, options.chainId, options.route);

  let amqpStatus: ChannelStatus | undefined;
  let publisher: AmqpEventPublisher | undefined;
  if (options.amqp) {
    const amqpPublisher = new AmqpEventPublisher(options.amqp);
    publisher = amqpPublisher;
    track(
      runChannel({
        name: 'amqp',
        feed,
        cursor: new DurableCursor(join(options.stateDir, 'cursors', 'amqp.json')),
        startAfter: options.amqpStartAfter ?? 0,
        // A page is published as a whole and confirmed as a whole; the cursor then moves past it.
        deliver: (events) => amqpPublisher.publish(events.map(toEnvelope)),
        signal: stopping.signal,
        log,
        onStatus: (s) => {
          amqpStatus = s;
        },
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
      }),
    );
  }

  let registry: WebhookRegistry | undefined;
  const hooks = new Map<string, { stop: AbortController; status: WebhookStatus; done?: Promise<void> }>();
  if (options.webhooks !== false) {
    registry = await WebhookRegistry.open(join(options.stateDir, 'webhooks.json'));
    const startHook = (subscription: WebhookSubscription) => {
      const stop = new AbortController();
      const signal = AbortSignal.any([stopping.signal, stop.signal]);
      const entry: { stop: AbortController; status: WebhookStatus; done?: Promise<void> } = {
        stop,
        status: { id: subscription.id },
      };
      hooks.set(subscription.id, entry);
      entry.done = runChannel({
        name: `webhook:${subscription.id}`,
        feed,
        cursor: new DurableCursor(join(options.stateDir, 'cursors', `webhook-${subscription.id}.json`)),
        startAfter: subscription.after,
        // One event at a time, each confirmed (2xx) before the cursor moves past it.
        deliver: async (events, confirmed) => {
          for (const e of events) {
            const envelope = toEnvelope(e);
            if (wants(subscription, envelope)) {
              await deliverWebhook(subscription, envelope, {
                signal,
                onAttempt: (a) => {
                  entry.status = {
                    ...entry.status,
                    lastAttempt: { ...a, eventId: e.id, at: new Date().toISOString() },
                  };
                  if (a.status === undefined || a.status >= 300) {
                    log.warn(
                      {
                        webhook: subscription.id,
                        event: e.id,
                        attempt: a.attempt,
                        status: a.status,
                        err: a.error,
                      },
                      'webhook delivery failed; retrying',
                    );
                  }
                },
                ...(options.webhookBackoff
                  ? { backoff: options.webhookBackoff }
                  : { backoff: { initialMs: 1000, maxMs: 300_000 } }),
                ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
              });
            }
            await confirmed(e);
          }
        },
        signal,
        log,
        onStatus: (s) => {
          entry.status = {
            ...entry.status,
            position: s.position,
            ...(s.lastError ? { lastError: s.lastError } : {}),
          };
        },
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
      });
      track(entry.done);
    };
    for (const s of registry.list()) startHook(s);
    registry.on('added', startHook);
    registry.on('removed', (s: WebhookSubscription) => {
      const entry = hooks.get(s.id);
      hooks.delete(s.id);
      entry?.stop.abort();
      // The cursor goes once its channel has stopped writing it.
      void (entry?.done ?? Promise.resolve()).then(() =>
        new DurableCursor(join(options.stateDir, 'cursors', `webhook-${s.id}.json`)).remove(),
      );
    });
  }

  log.info(
    { amqp: Boolean(options.amqp), webhooks: registry?.list().length ?? 0, nodes: feed.nodeUrls },
    'event delivery started',
  );
  return {
    feed,
    ...(registry ? { webhooks: registry } : {}),
    status: () => ({
      ...(amqpStatus ? { amqp: amqpStatus } : {}),
      webhooks: [...hooks.values()].map((h) => h.status),
    }),
    async stop() {
      registry?.removeAllListeners();
      stopping.abort();
      await Promise.allSettled([...running]);
      await publisher?.close();
    },
  };
}
