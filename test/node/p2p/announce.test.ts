/**
 * The announce address: a node on its own host listens on every interface but tells its peers
 * (identify) only its public address, so no peer learns — and redials — 0.0.0.0, 127.0.0.1 or a
 * container's private address from it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { topicName } from '../../../node/p2p/gossip.ts';
import { createHost } from '../../../node/p2p/host.ts';
import { generateKeyPair, waitFor } from '../../fixtures/node.ts';

test('peers learn only the announced address of a node listening on every interface', async (t) => {
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  const allowed = new Set([a.publicKey, b.publicKey]);
  const common = {
    topics: [topicName('tillid-test', 'vote')],
    allowed: (k: string) => allowed.has(k),
    log: pino({ level: 'silent' }),
  };
  const listener = await createHost({ ...common, identity: b, listen: ['/ip4/127.0.0.1/tcp/0'], peers: [] });
  t.after(() => listener.stop());
  const [listenerAddress] = listener.host.getMultiaddrs().map(String);
  const announced = '/dns4/node.kommune.example/tcp/7201';
  const dialer = await createHost({
    ...common,
    identity: a,
    listen: ['/ip4/0.0.0.0/tcp/0'],
    announce: [announced],
    peers: [listenerAddress as string],
  });
  t.after(() => dialer.stop());
  assert.deepEqual(dialer.host.getMultiaddrs().map(String), [`${announced}/p2p/${dialer.host.peerId}`]);

  const learned = await waitFor(async () => {
    const peer = await listener.host.peerStore.get(dialer.host.peerId).catch(() => undefined);
    const addresses = peer?.addresses.map((x) => x.multiaddr.toString()) ?? [];
    return addresses.length > 0 ? addresses : undefined;
  }, 10_000);
  assert.deepEqual(learned, [announced]);
});
