/**
 * `HEAD /v1/events/stream` answers at once, as a GET would begin (200 text/event-stream, no body),
 * and holds no stream slot: before the fix it never answered and kept a slot until the client left.
 * The node is stood in for by a real HTTP server serving `/v1/status` and an empty `/v1/events`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import { NodeEventFeed } from '../../gateway/events/feed.ts';
import { eventRoutes } from '../../gateway/events/routes.ts';

const CVR = '11111111';

async function quietNode(t: { after(fn: () => unknown): void }): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/v1/status'))
      return res.end(JSON.stringify({ chainId: 'tillid-test', height: 3, finalizedHeight: 3 }));
    res.end(JSON.stringify({ events: [], next: 3, head: 3 }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('HEAD /v1/events/stream answers at once and holds no stream slot', async (t) => {
  const feed = new NodeEventFeed({ nodeUrls: [await quietNode(t)] });
  const app = Fastify();
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request) => {
    const cvr = request.headers['x-test-cvr'];
    if (typeof cvr === 'string')
      request.caller = {
        system: `urn:test:${cvr}`,
        cvr,
        privileges: [],
        via: 'token',
        transactionId: randomUUID(),
      };
  });
  // One slot: a HEAD that kept it would make the GET below 503 TOO_MANY_STREAMS.
  await app.register(eventRoutes, { feed, chainId: 'tillid-test', maxStreams: 1, pollIntervalMs: 50 });
  const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1/events/stream`;
  t.after(() => app.close());

  for (let i = 0; i < 3; i++) {
    const head = await fetch(url, {
      method: 'HEAD',
      headers: { 'x-test-cvr': CVR },
      signal: AbortSignal.timeout(3000),
    });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await head.text(), '');
  }
  const badResume = await fetch(url, {
    method: 'HEAD',
    headers: { 'x-test-cvr': CVR, 'last-event-id': 'nonsense' },
    signal: AbortSignal.timeout(3000),
  });
  assert.equal(badResume.status, 400, 'HEAD answers what a GET would: a bad Last-Event-ID is refused');
  const anonymous = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
  assert.equal(anonymous.status, 401);

  const controller = new AbortController();
  const stream = await fetch(url, { headers: { 'x-test-cvr': CVR }, signal: controller.signal });
  assert.equal(stream.status, 200, 'the only stream slot is free after the HEADs');
  const second = await fetch(url, { headers: { 'x-test-cvr': CVR }, signal: AbortSignal.timeout(3000) });
  assert.equal(second.status, 503, 'the one slot is taken by the open GET');
  assert.equal(((await second.json()) as { code: string }).code, 'TOO_MANY_STREAMS');
  controller.abort();
});
