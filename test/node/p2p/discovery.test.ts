/**
 * Peers from the chain, on real libp2p hosts over TCP: a member whose configuration names no peer
 * dials an authority at the address it learns at run time (its on-chain address), so the newcomer
 * sees an inbound connection; and once a peer leaves the allow-list (voted out, key rotated) the
 * connection already open is hung up on, not kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../node/log.ts';
import { createHost } from '../../../node/p2p/host.ts';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { generateKeyPair, waitFor } from '../../fixtures/node.ts';

const log = createLogger('silent');

test('a member dials a peer learned at run time, and hangs up on one that leaves the allow-list', async (t) => {
  const memberKey: KeyPair = generateKeyPair();
  const newcomerKey: KeyPair = generateKeyPair();
  let admitted = true;
  const newcomer = await createHost({
    identity: newcomerKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [],
    topics: [],
    allowed: () => true,
    log,
  });
  t.after(() => newcomer.stop());
  const address = `${newcomer.host.getMultiaddrs()[0]?.toString()}`;
  let learned: string[] = [];
  const member = await createHost({
    identity: memberKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [],
    discover: async () => learned,
    topics: [],
    allowed: (key) => key !== newcomerKey.publicKey || admitted,
    log,
  });
  t.after(() => member.stop());

  // Nothing learned, nothing dialled; then the address appears (the vote took effect).
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(newcomer.host.getConnections().length, 0);
  learned = [address];
  await waitFor(async () => (newcomer.host.getConnections().length > 0 ? true : undefined), 15_000);
  assert.equal(newcomer.host.getConnections()[0]?.direction, 'inbound', 'the member dialled the newcomer');

  // Voted out: the member hangs up, and does not dial it again although the address is still known.
  admitted = false;
  await waitFor(async () => (member.host.getConnections().length === 0 ? true : undefined), 15_000);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(member.host.getConnections().length, 0);
});
