/**
 * The held-message protocol (/tillid/<chain>/held/2) between two real libp2p hosts over TCP: a
 * node asks a peer for what it holds for a height and gets it, bounded; a malformed request is
 * refused without harming the server, which answers the next one; an answer longer than asked to
 * carry is refused by the client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLogger } from '../../../node/log.ts';
import { fetchHeld, heldFetchProtocol, serveHeld } from '../../../node/p2p/held-fetch.ts';
import { createHost } from '../../../node/p2p/host.ts';
import { generateKeyPair } from '../../fixtures/node.ts';

const log = createLogger('silent');
const CHAIN = 'tillid-held';

async function pair(t: { after(fn: () => Promise<void>): void }) {
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  const allowed = (k: string) => k === a.publicKey || k === b.publicKey;
  const server = await createHost({
    identity: a,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [],
    topics: [],
    allowed,
    log,
  });
  t.after(() => server.stop());
  const client = await createHost({
    identity: b,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [],
    topics: [],
    allowed,
    log,
  });
  t.after(() => client.stop());
  await client.host.dial(multiaddr(server.host.getMultiaddrs()[0]?.toString() as string));
  return { server, client };
}

test('a peer answers with what it holds for the height asked, at most its bound', async (t) => {
  const { server, client } = await pair(t);
  const asked: number[] = [];
  const held = (height: number) => {
    asked.push(height);
    return height === 7
      ? [
          { kind: 'vote', n: 1 },
          { kind: 'vote', n: 2 },
          { kind: 'vote', n: 3 },
        ]
      : [];
  };
  const limits = { max: 2, maxFrame: 4096, timeoutMs: 5000 };
  await serveHeld(server.host, CHAIN, held, limits, log);
  const got = await fetchHeld(client.host, CHAIN, server.host.peerId, 7, limits);
  assert.deepEqual(
    got,
    [
      { kind: 'vote', n: 1 },
      { kind: 'vote', n: 2 },
    ],
    'bounded by max',
  );
  assert.deepEqual(await fetchHeld(client.host, CHAIN, server.host.peerId, 8, limits), [], 'nothing held');
  assert.deepEqual(asked, [7, 8]);
});

test('a malformed request is refused and the server answers the next one; an oversized answer is refused', async (t) => {
  const { server, client } = await pair(t);
  await serveHeld(
    server.host,
    CHAIN,
    () => [{ kind: 'vote' }, { kind: 'vote' }],
    { max: 2, maxFrame: 4096, timeoutMs: 5000 },
    log,
  );
  for (const bad of ['{"height":-1}', '{"height":"7"}', 'not json']) {
    const stream = await client.host.dialProtocol(server.host.peerId, heldFetchProtocol(CHAIN));
    const lp = lpStream(stream);
    await lp.write(new TextEncoder().encode(bad));
    await assert.rejects(lp.read({ signal: AbortSignal.timeout(5000) }), `refused: ${bad}`);
  }
  // The server still serves; a client that accepts at most one message refuses an answer of two.
  await assert.rejects(
    fetchHeld(client.host, CHAIN, server.host.peerId, 3, { max: 1, maxFrame: 4096, timeoutMs: 5000 }),
    /bad held response/,
  );
  assert.equal(
    (await fetchHeld(client.host, CHAIN, server.host.peerId, 3, { max: 2, maxFrame: 4096, timeoutMs: 5000 }))
      .length,
    2,
  );
});
