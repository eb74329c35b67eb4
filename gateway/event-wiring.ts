/** Wiring of events out (gateway/events) into the gateway. */
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startEventDelivery } from './events/delivery.ts';
import { eventRoutes } from './events/routes.ts';
import type { GatewayComponents, RouteAccess } from './server.ts';

/**
 * Events out (gateway/events): the delivery channels follow the nodes' event feed with durable
 * cursors — AMQP to the event distributor when `events.amqp.url` is configured, webhooks always —
 * and the routes (SSE stream, webhook subscriptions) belong to the `events` service. Returns the
 * running delivery, which the server stops on close.
 */
export async function registerEvents(
  app: FastifyInstance,
  c: GatewayComponents,
): Promise<{ stop(): Promise<void> }> {
  const options = (c.config.events ?? {}) as {
    stateDir?: string;
    amqp?: { url: string; exchange?: string; queuePrefix?: string; receivers?: string[] };
    pollIntervalMs?: number;
  };
  const nodeUrls = [...new Set(c.router.health().map((n) => n.url))];
  const delivery = await startEventDelivery({
    nodeUrls,
    stateDir: resolve(options.stateDir ?? join(c.config.keyStoreDir, '..', 'events')),
    chainId: c.router.status.chainId,
    ...(c.router.proofs ? { proofs: c.router.proofs } : {}),
    ...(options.amqp?.url
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
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      const access: RouteAccess = { service: 'events', action: `events.${route.method}` };
      route.config = { ...(route.config ?? {}), access } as typeof route.config;
    });
    await scope.register(eventRoutes, {
      feed: delivery.feed,
      chainId: c.router.status.chainId,
      ...(delivery.webhooks ? { webhooks: delivery.webhooks } : {}),
      webhookStatus: () => delivery.status().webhooks,
    });
  });
  return delivery;
}
