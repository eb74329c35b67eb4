/**
 * Events out, against a REAL RabbitMQ on loopback (Debian's rabbitmq-server; `.ci/run` installs and
 * starts it) and real HTTP: AMQP delivery across a gateway crash (kill -9 of a delivery process) and
 * a broker restart, routing to each receiver's own queue, signed webhooks with retry and backoff,
 * and SSE resume. The node is stood in for by `NodeEventsTestServer`, a real HTTP server serving the
 * node's `/v1/events` and `/v1/status` shapes, so the test decides when which events become final.
 *
 * Run as a child process (TILLID_EVENTS_TEST_CHILD=1), this file is the delivery process a test kills.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Caller } from '../../gateway/caller.ts';
import { declareReceiverQueue } from '../../gateway/events/amqp.ts';
import { startEventDelivery } from '../../gateway/events/delivery.ts';
import type { EventEnvelope } from '../../gateway/events/envelope.ts';
import { NodeEventFeed } from '../../gateway/events/feed.ts';
import { eventRoutes } from '../../gateway/events/routes.ts';
import { verifyWebhookSignature } from '../../gateway/events/webhooks.ts';
import { tempDir, waitFor } from '../helpers.ts';
import {
  AMQP_URL,
  CHAIN,
  collectUntil,
  connectBroker,
  consume,
  MUNICIPALITY,
  NodeEventsTestServer,
  OTHER,
  PROVIDER,
  type Received,
} from './events-harness.ts';

function testCaller(cvr: string): Caller {
  return { system: `urn:test:system:${cvr}`, cvr, privileges: [], via: 'token', transactionId: randomUUID() };
}

/** A fastify server with the event routes and a stand-in for part A's authentication (x-test-cvr). */
async function eventGateway(
  t: { after(fn: () => unknown): void },
  options: Parameters<typeof eventRoutes>[1],
) {
  const app = Fastify();
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request) => {
    const cvr = request.headers['x-test-cvr'];
    if (typeof cvr === 'string') request.caller = testCaller(cvr);
  });
  await app.register(eventRoutes, options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return url;
}

if (process.env.TILLID_EVENTS_TEST_CHILD) {
  // The delivery process a test kills with SIGKILL: exactly what part A's gateway process runs.
  await startEventDelivery({
    nodeUrls: [process.env.NODE_URL as string],
    feed: new NodeEventFeed({ nodeUrls: [process.env.NODE_URL as string], limit: 5 }),
    stateDir: process.env.STATE_DIR as string,
    chainId: CHAIN,
    amqp: {
      url: AMQP_URL,
      exchange: process.env.EXCHANGE as string,
      queuePrefix: process.env.QUEUE_PREFIX as string,
    },
    webhooks: false,
    pollIntervalMs: 50,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  process.stdout.write('delivering\n');
} else {
  const run = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;

  test('AMQP: every event reaches its receivers across a gateway crash (kill -9), duplicates only by id', async (t) => {
    const broker = await connectBroker();
    const exchange = `tillid.events.${run}.crash`;
    const queuePrefix = `tillid.dueslag.${run}.crash.`;
    const setup = await broker.createChannel();
    const queue = await declareReceiverQueue(setup, PROVIDER, { exchange, queuePrefix });
    t.after(async () => {
      for (const q of [queue, `${queuePrefix}${MUNICIPALITY}`, `${exchange}.unrouted`])
        await setup.deleteQueue(q);
      await setup.deleteExchange(exchange);
      await setup.deleteExchange(`${exchange}.unrouted`);
      await broker.close();
    });

    const node = await new NodeEventsTestServer().start();
    t.after(() => node.close());
    node.delayMs = 50; // pages of 5 events, slowly, so the kill lands mid-stream
    const expected: string[] = [];
    for (let h = 0; h < 150; h++) expected.push(...node.finalize(NodeEventsTestServer.payment(h + 1)));
    const stateDir = tempDir(t);
    const spawnDelivery = (): ChildProcess => {
      const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
        env: {
          ...process.env,
          TILLID_EVENTS_TEST_CHILD: '1',
          NODE_URL: node.url,
          STATE_DIR: stateDir,
          EXCHANGE: exchange,
          QUEUE_PREFIX: queuePrefix,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => child.kill('SIGKILL'));
      return child;
    };

    const first = spawnDelivery();
    const received: Received[] = [];
    const stopConsuming = await consume(broker, queue, received);
    await waitFor(async () => (received.length >= 20 ? true : undefined), 20_000);
    first.kill('SIGKILL');
    await once(first, 'exit');
    await new Promise((r) => setTimeout(r, 200));
    await stopConsuming();
    const beforeRestart = new Set(received.map((r) => r.id)).size;
    assert.ok(
      beforeRestart < expected.length,
      `the crash came before everything was delivered (${beforeRestart})`,
    );

    spawnDelivery();
    for (let h = 0; h < 10; h++) expected.push(...node.finalize(NodeEventsTestServer.payment(200 + h)));
    await collectUntil(broker, queue, expected, 30_000, received);

    const ids = received.map((r) => r.id);
    assert.deepEqual([...new Set(ids)].sort(), [...expected].sort(), 'every event arrived, nothing else');
    const bodies = new Map<string, string>();
    for (const r of received) {
      if (bodies.has(r.id))
        assert.equal(r.body, bodies.get(r.id), `a duplicate of ${r.id} is byte-identical`);
      bodies.set(r.id, r.body);
    }
    t.diagnostic(
      `${expected.length} events, ${ids.length - expected.length} duplicates after kill -9 at ${beforeRestart} delivered`,
    );
  });

  test('AMQP: the envelope carries the filter data, and each receiver gets only what names it', async (t) => {
    const broker = await connectBroker();
    const exchange = `tillid.events.${run}.routing`;
    const queuePrefix = `tillid.dueslag.${run}.routing.`;
    const setup = await broker.createChannel();
    const queues = {
      municipality: await declareReceiverQueue(setup, MUNICIPALITY, { exchange, queuePrefix }),
      provider: await declareReceiverQueue(setup, PROVIDER, { exchange, queuePrefix }),
      other: await declareReceiverQueue(setup, OTHER, { exchange, queuePrefix }),
    };
    t.after(async () => {
      for (const q of [...Object.values(queues), `${exchange}.unrouted`]) await setup.deleteQueue(q);
      await setup.deleteExchange(exchange);
      await setup.deleteExchange(`${exchange}.unrouted`);
      await broker.close();
    });
    const node = await new NodeEventsTestServer().start();
    t.after(() => node.close());
    const [payment] = node.finalize(NodeEventsTestServer.payment(3));
    const [membership] = node.finalize({
      type: 'governance.membership-changed',
      action: 'add',
      cvr: '33333333',
    });
    const delivery = await startEventDelivery({
      nodeUrls: [node.url],
      stateDir: tempDir(t),
      chainId: CHAIN,
      amqp: { url: AMQP_URL, exchange, queuePrefix },
      webhooks: false,
      pollIntervalMs: 50,
    });
    t.after(() => delivery.stop());

    const toMunicipality = await collectUntil(
      broker,
      queues.municipality,
      [payment, membership] as string[],
      10_000,
    );
    const toProvider = await collectUntil(broker, queues.provider, [payment, membership] as string[], 10_000);
    const toOther = await collectUntil(broker, queues.other, [membership] as string[], 10_000);
    assert.deepEqual(
      toOther.map((m) => m.id),
      [membership],
      'a stranger gets the all-members event only',
    );
    assert.equal(toMunicipality.length, 2);
    assert.equal(toProvider.length, 2);
    const envelope = toProvider.find((m) => m.id === payment)?.envelope;
    assert.deepEqual(envelope?.envelope, {
      messageType: 'tillid.payment.released',
      eventId: payment,
      chainId: CHAIN,
      height: 1,
      allowedReceivers: [PROVIDER, MUNICIPALITY].sort(),
      responsibleAuthority: MUNICIPALITY,
      kle: '27.35.04',
      relatedObject: { type: 'contract', id: 'c'.repeat(64) },
    });
    assert.equal(envelope?.event.amount, 4_500_000);
    assert.deepEqual(toOther[0]?.envelope.envelope.allowedReceivers, []);
  });

  test('webhooks: signed, retried with exponential backoff until confirmed, resumed from the cursor after a restart', async (t) => {
    const node = await new NodeEventsTestServer().start();
    t.after(() => node.close());
    const secret = 'a-webhook-secret-of-at-least-32-characters';
    // The subscriber's endpoint: refuses the first three attempts, then confirms.
    const attempts: { at: number; id: string; attempt: string; signature: string; body: string }[] = [];
    const receiver = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      attempts.push({
        at: Date.now(),
        id: String(req.headers['x-tillid-event-id']),
        attempt: String(req.headers['x-tillid-delivery-attempt']),
        signature: String(req.headers['x-tillid-signature']),
        body,
      });
      res.writeHead(attempts.length <= 3 ? 503 : 204).end();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    t.after(() => receiver.close());
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/tillid`;

    const stateDir = tempDir(t);
    const options = {
      nodeUrls: [node.url],
      stateDir,
      chainId: CHAIN,
      pollIntervalMs: 50,
      // The cap is far beyond the wait for four attempts below: had any retry waited the cap instead
      // of its exponential step, the fourth attempt could not have come within that wait.
      webhookBackoff: { initialMs: 200, maxMs: 60_000 },
    };
    let delivery = await startEventDelivery(options);
    // Stops whichever delivery is current when the test ends, also when an assertion fails before
    // the restart below (a running retry loop would otherwise keep the test process alive forever).
    t.after(() => delivery.stop());
    const webhooks = delivery.webhooks;
    assert.ok(webhooks);
    const gateway = await eventGateway(t, {
      feed: delivery.feed,
      chainId: CHAIN,
      webhooks,
      webhookStatus: () => delivery.status().webhooks,
    });
    node.finalize(NodeEventsTestServer.payment(1)); // before the subscription: not delivered
    const created = await fetch(`${gateway}/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-cvr': PROVIDER },
      body: JSON.stringify({ url: hookUrl, secret, types: ['payment.released', 'payment.withheld'] }),
    });
    assert.equal(created.status, 201);
    const subscription = (await created.json()) as { id: string; secret: string; after: number };
    assert.equal(subscription.secret, secret);
    assert.equal(subscription.after, 1);
    const bad = await fetch(`${gateway}/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-cvr': PROVIDER },
      body: JSON.stringify({ url: 'file:///etc/passwd' }),
    });
    assert.equal(((await bad.json()) as { code: string }).code, 'WEBHOOK_URL_INVALID');

    const [first] = node.finalize(
      NodeEventsTestServer.payment(2),
      {
        type: 'contract.activated',
        contract: 'c'.repeat(64),
        municipality: MUNICIPALITY,
        provider: PROVIDER,
      },
      { ...NodeEventsTestServer.payment(2), municipality: '44444444', provider: OTHER }, // not the subscriber's
    );
    await waitFor(async () => (attempts.length >= 4 ? true : undefined), 10_000);
    assert.deepEqual(
      attempts.map((a) => [a.id, a.attempt]),
      [
        [first, '1'],
        [first, '2'],
        [first, '3'],
        [first, '4'],
      ],
    );
    const gaps = attempts.slice(1).map((a, i) => a.at - (attempts[i]?.at ?? 0));
    t.diagnostic(`retry gaps ${gaps.join(', ')} ms`);
    // Retry n waits 200 ms × 2^(n-1) ± 20 % jitter, plus however late the machine runs the timer.
    // Lateness only lengthens a gap, so each gap is checked against its scheduled minimum (which
    // only a growing backoff reaches: the third must be ≥ 640 ms, more than the first can be
    // scheduled for). That no retry waited the 60 s cap is shown by all four arriving at all
    // within the 10 s wait — no wall-clock upper bound, which a loaded machine could break.
    gaps.forEach((gap, i) => {
      const minimum = 0.8 * 200 * 2 ** i - 5; // 5 ms of timer-rounding slack
      assert.ok(gap >= minimum, `retry ${i + 1} waited ${gap} ms, scheduled at least ${minimum}`);
    });
    for (const a of attempts) {
      assert.equal(a.body, attempts[0]?.body, 'every retry carries the same body');
      assert.ok(verifyWebhookSignature(secret, a.signature, a.body), 'signature verifies');
    }
    const last = attempts.at(-1) as (typeof attempts)[number];
    assert.equal(
      verifyWebhookSignature('another-secret-of-at-least-32-chars!!', last.signature, last.body),
      false,
    );
    assert.equal(
      verifyWebhookSignature(secret, last.signature, last.body.replace('4500000', '9900000')),
      false,
    );
    assert.equal(
      verifyWebhookSignature(secret, last.signature, last.body, { now: Date.now() + 600_000 }),
      false,
    );
    assert.equal((JSON.parse(last.body) as EventEnvelope).event.type, 'payment.released');

    const listed = (await (
      await fetch(`${gateway}/v1/webhooks`, { headers: { 'x-test-cvr': PROVIDER } })
    ).json()) as { webhooks: Record<string, unknown>[] };
    assert.equal(listed.webhooks.length, 1);
    assert.equal(listed.webhooks[0]?.secret, undefined, 'the secret is never shown again');
    assert.deepEqual(
      (
        (await (await fetch(`${gateway}/v1/webhooks`, { headers: { 'x-test-cvr': OTHER } })).json()) as {
          webhooks: unknown[];
        }
      ).webhooks,
      [],
    );

    // Restart: confirmed events are not sent again; the next one is.
    await waitFor(async () =>
      (delivery.status().webhooks[0]?.position?.after ?? 0) >= 2 ? true : undefined,
    );
    await delivery.stop();
    const [next] = node.finalize(NodeEventsTestServer.payment(3));
    delivery = await startEventDelivery(options);
    await waitFor(async () => (attempts.length >= 5 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      attempts.slice(4).map((a) => a.id),
      [next],
    );
  });

  test('SSE: a dashboard resumes with Last-Event-ID without gaps or repeats, and sees only its own events', async (t) => {
    const node = await new NodeEventsTestServer().start();
    t.after(() => node.close());
    const feed = new NodeEventFeed({ nodeUrls: [node.url] });
    const gateway = await eventGateway(t, { feed, chainId: CHAIN, pollIntervalMs: 50 });
    const ids: string[] = [];
    for (let h = 0; h < 6; h++) {
      ids.push(...node.finalize(NodeEventsTestServer.payment(h + 1)));
      node.finalize({ ...NodeEventsTestServer.payment(h + 1), municipality: '44444444', provider: OTHER });
    }

    async function read(headers: Record<string, string>, count: number, query = '') {
      const controller = new AbortController();
      const response = await fetch(`${gateway}/v1/events/stream${query}`, {
        headers: { 'x-test-cvr': PROVIDER, ...headers },
        signal: controller.signal,
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const frames: { id: string; event: string; data: EventEnvelope }[] = [];
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as ReadableStream<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            frame
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(': '))
              .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          );
          if (fields.id && fields.event && fields.data)
            frames.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
          // A client that stops here has seen exactly these frames; the rest of the chunk is unread.
          end = frames.length >= count ? -1 : buffer.indexOf('\n\n');
        }
        if (frames.length >= count) break;
      }
      controller.abort();
      return frames;
    }

    const firstVisit = await read({}, 3, '?after=0');
    assert.deepEqual(
      firstVisit.map((f) => f.id),
      ids.slice(0, 3),
    );
    assert.equal(firstVisit[0]?.event, 'payment.released');
    assert.equal(firstVisit[0]?.data.envelope.eventId, ids[0]);
    // Reconnect as EventSource does: Last-Event-ID is the last id seen. New events keep coming.
    const later = node.finalize(NodeEventsTestServer.payment(99));
    const resumed = await read({ 'last-event-id': firstVisit.at(-1)?.id as string }, 4);
    assert.deepEqual(
      resumed.map((f) => f.id),
      [...ids.slice(3), ...later],
    );
    const badResume = await fetch(`${gateway}/v1/events/stream`, {
      headers: { 'x-test-cvr': PROVIDER, 'last-event-id': 'yesterday' },
    });
    assert.equal(badResume.status, 400);
    assert.equal((await fetch(`${gateway}/v1/events/stream`)).status, 401);
    // Without a position, a stream starts at the finalized height: only what comes next.
    const fresh = read({}, 1);
    await new Promise((r) => setTimeout(r, 200));
    const newest = node.finalize(NodeEventsTestServer.payment(100));
    assert.deepEqual(
      (await fresh).map((f) => f.id),
      newest,
    );
  });
}
