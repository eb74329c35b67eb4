/**
 * The WAN relay the separate-hosts test puts between hosts: it delays, it keeps the byte stream's
 * order in spite of the jitter, and a close on one side reaches the other.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer } from 'node:net';
import { test } from 'node:test';
import { parseRoute, startWanRelay } from '../fixtures/wan-relay.ts';

test('the relay delays each direction, keeps the order and passes the close on', async (t) => {
  // An echo server as the target.
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.after(() => echo.close());
  const target = (echo.address() as AddressInfo).port;
  // A free port for the relay to listen on.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const relay = await startWanRelay([parseRoute(`127.0.0.1:${port}=127.0.0.1:${target}`)], {
    delayMs: 20,
    jitterMs: 15,
  });
  t.after(() => relay.close());

  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const started = performance.now();
  let received = '';
  let firstAt = 0;
  const closed = new Promise<void>((resolve) => socket.on('end', () => resolve()));
  socket.on('data', (d) => {
    if (received === '') firstAt = performance.now();
    received += d;
  });
  // Many small writes a few ms apart: with 15 ms of jitter, an unordered relay would swap some.
  const sent: string[] = [];
  for (let i = 0; i < 60; i++) {
    const line = `chunk ${i}\n`;
    sent.push(line);
    socket.write(line);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  socket.end();
  await closed;
  assert.equal(received, sent.join(''), 'every byte, in order');
  assert.ok(firstAt - started >= 40, `a round trip waits at least twice the delay (${firstAt - started} ms)`);
});

test('a route is listen=target, each host:port', () => {
  assert.deepEqual(parseRoute('10.1.1.1:7201=10.1.1.2:7201'), {
    listen: { host: '10.1.1.1', port: 7201 },
    target: { host: '10.1.1.2', port: 7201 },
  });
  assert.throws(() => parseRoute('10.1.1.1:7201'), /expected listen=target/);
  assert.throws(() => parseRoute('10.1.1.1=10.1.1.2:7201'), /expected host:port/);
});
