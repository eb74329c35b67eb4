/**
 * Events out (gateway/events) in the gateway: the delivery channels follow the nodes' event feed
 * with durable cursors — AMQP to the event distributor when the config's `events.amqp` is given,
 * webhooks always — and the routes (SSE stream, webhook subscriptions) belong to the `events`
 * service. Delivery stops when the gateway closes.
 */
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type PluginComponents, serviceRoutes } from '../components.ts';
import { startEventDelivery } from '../events/delivery.ts';
import { eventRoutes } from '../events/routes.ts';

export async function events(app: FastifyInstance, c: PluginComponents): Promise<void> {
  const options = c.config.events ?? {};
  const delivery = await startEventDelivery({
    nodeUrls: [...new Set(c.router.health().map((n) => n.url))],
    fetch: c.router.fetch,
    stateDir: options.stateDir ?? resolve(join(c.config.keyStoreDir, '..', 'events')),
    chainId: c.router.status.chainId,
    ...(c.router.proofs ? { proofs: c.router.proofs } : {}),
    ...(options.amqp
      ? {
          amqp: {
            ...options.amqp,
            receivers: options.amqp.receivers ?? [
              ...c.config.municipalities.map((m) => m.cvr),
              ...c.config.providers,
            ],
          },
        }
      : {}),
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    log: c.log.child({ component: 'events' }),
  });
  app.addHook('onClose', () => delivery.stop());
  c.onEventDelivery?.(delivery);
  app.addHook('onRoute', serviceRoutes('events', 'events'));
  await app.register(eventRoutes, {
    feed: delivery.feed,
    chainId: c.router.status.chainId,
    ...(delivery.webhooks ? { webhooks: delivery.webhooks } : {}),
    webhookStatus: () => delivery.status().webhooks,
  });
}
