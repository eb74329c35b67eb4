/**
 * AMQP across a real broker restart. It stops and starts the shared RabbitMQ, which would cut off
 * any other suite using it at that moment, so `npm test` runs this file alone, after the others
 * (files named `*.alone.ts`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEventDelivery } from '../../gateway/events/delivery.ts';
import { tempDir, waitFor } from '../helpers.ts';
import {
  AMQP_URL,
  CHAIN,
  collectUntil,
  connectBroker,
  MUNICIPALITY,
  NodeEventsTestServer,
  PROVIDER,
  rabbitmqctl,
} from './events-harness.ts';

const run = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;

test('AMQP: no event is lost across a broker restart; persistent messages survive in durable queues', async (t) => {
  const broker1 = await connectBroker();
  const exchange = `tillid.events.${run}.restart`;
  const queuePrefix = `tillid.dueslag.${run}.restart.`;
  const node = await new NodeEventsTestServer().start();
  t.after(() => node.close());
  const expected: string[] = [];
  for (let h = 0; h < 20; h++) expected.push(...node.finalize(NodeEventsTestServer.payment(h + 1)));
  const delivery = await startEventDelivery({
    nodeUrls: [node.url],
    stateDir: tempDir(t),
    chainId: CHAIN,
    amqp: { url: AMQP_URL, exchange, queuePrefix, receivers: [MUNICIPALITY] },
    webhooks: false,
    pollIntervalMs: 50,
    backoff: { initialMs: 200, maxMs: 1000 },
  });
  t.after(() => delivery.stop());
  const queue = `${queuePrefix}${MUNICIPALITY}`;
  // Published and confirmed before the restart, not yet consumed: these must survive it.
  await waitFor(
    async () => ((await delivery.status().amqp?.position.after) === 20 ? true : undefined),
    10_000,
  );
  await broker1.close().catch(() => {});

  rabbitmqctl('stop_app');
  // Finalized while the broker is down: delivery fails and retries from its cursor.
  for (let h = 0; h < 20; h++) expected.push(...node.finalize(NodeEventsTestServer.payment(100 + h)));
  await waitFor(async () => (delivery.status().amqp?.lastError ? true : undefined), 10_000);
  rabbitmqctl('start_app');
  rabbitmqctl('await_startup', '--timeout', '60');
  for (let h = 0; h < 20; h++) expected.push(...node.finalize(NodeEventsTestServer.payment(200 + h)));

  const broker2 = await connectBroker();
  t.after(() => broker2.close());
  const received = await collectUntil(broker2, queue, expected, 30_000);
  assert.deepEqual([...new Set(received.map((r) => r.id))].sort(), [...expected].sort());
  const cleanup = await broker2.createChannel();
  for (const q of [queue, `${queuePrefix}${PROVIDER}`, `${exchange}.unrouted`]) await cleanup.deleteQueue(q);
  await cleanup.deleteExchange(exchange);
  await cleanup.deleteExchange(`${exchange}.unrouted`);
  await cleanup.close();
});
