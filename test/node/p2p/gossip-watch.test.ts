/**
 * The gossip watch's set-up grace and its per-peer backoff, on a fake clock and a fake host: which
 * connections it hangs up on, and when. (Over real libp2p: reconnect.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerId } from '@libp2p/interface';
import { createLogger } from '../../../node/log.ts';
import {
  GossipWatch,
  MAX_SETUP_GRACE_MS,
  SETUP_GRACE_MS,
  type WatchedHost,
} from '../../../node/p2p/gossip-watch.ts';

const PROTOCOL = '/meshsub/1.2.0';
const log = createLogger('silent');

/** One peer, its connections, and what gossipsub holds of it; the clock is `now`. */
function world() {
  let now = 0;
  let seq = 0;
  const peer = { toString: () => 'peer-b' } as unknown as PeerId;
  let connections: { id: string; remotePeer: PeerId; status: string; timeline: { open: number } }[] = [];
  const streamsOutbound = new Map<string, unknown>();
  let gossipPeer = false;
  const hangUps: number[] = [];
  const host: WatchedHost = {
    getConnections: () => connections,
    hangUp: async () => {
      hangUps.push(now);
      connections = [];
      streamsOutbound.delete('peer-b');
      gossipPeer = false;
    },
    peerStore: { get: async () => ({ protocols: [PROTOCOL] }) },
    services: {
      pubsub: {
        getPeers: () => (gossipPeer ? [peer] : []),
        protocols: [PROTOCOL],
        streamsOutbound,
      },
    },
  };
  const watch = new GossipWatch(
    host,
    log,
    () => {},
    () => now,
  );
  return {
    watch,
    hangUps,
    /** A new connection to the peer (the redial), gossip not set up on it yet. */
    connect() {
      connections = [{ id: `c${++seq}`, remotePeer: peer, status: 'open', timeline: { open: now } }];
    },
    /** gossipsub finished its set-up: the peer with an open outgoing stream. */
    gossipWorks() {
      streamsOutbound.set('peer-b', { rawStream: { status: 'open', writeStatus: 'writable' } });
      gossipPeer = true;
    },
    /** The outgoing stream died without gossipsub noticing. */
    streamDies() {
      streamsOutbound.set('peer-b', { rawStream: { status: 'closed', writeStatus: 'closed' } });
    },
    connected: () => connections.length > 0,
    /** When the current connection opened. */
    openedAt: () => connections[0]?.timeline.open ?? Number.NaN,
    /** gossipsub dropped the peer (removePeer) while libp2p stays connected. */
    gossipLost() {
      streamsOutbound.delete('peer-b');
      gossipPeer = false;
    },
    /** Runs the periodic check every 2 s (as host.ts does) until `until`, redialling at once. */
    async runUntil(until: number, onTick: (t: number) => void = () => {}) {
      while (now < until) {
        now += 2000;
        onTick(now);
        await watch.check();
        if (connections.length === 0) this.connect();
      }
    },
    at: () => now,
  };
}

test('a peer whose gossip set-up never finishes is hung up on with a doubling grace, up to the bound', async () => {
  const w = world();
  w.connect();
  await w.runUntil(600_000);
  // Each connection (redialled at once) is hung up on when it is as old as its grace, found lacking
  // on two checks in a row.
  const ages = w.hangUps.map((t, i) => t - (i === 0 ? 0 : (w.hangUps[i - 1] as number)));
  assert.deepEqual(ages.slice(0, 5), [10_000, 20_000, 40_000, 80_000, 120_000]);
  assert.ok(
    ages.slice(5).every((a) => a === MAX_SETUP_GRACE_MS),
    `ages ${ages.join(' ')}`,
  );
  assert.equal(w.watch.graceOf('peer-b'), MAX_SETUP_GRACE_MS);
});

test('a peer whose set-up takes longer than the first grace is kept once its grace has grown', async () => {
  const w = world();
  w.connect();
  // Every connection's set-up takes 25 s (a starved host): at 10 and 20 s of grace it is hung up on.
  await w.runUntil(200_000, (t) => {
    if (w.connected() && t - w.openedAt() >= 25_000) w.gossipWorks();
  });
  assert.equal(w.hangUps.length, 2, `hung up at ${w.hangUps.join(', ')}`);
  // Gossip seen working: the grace is back to its default for the next time.
  assert.equal(w.watch.graceOf('peer-b'), SETUP_GRACE_MS);
  assert.ok(w.connected());
});

test('a dead outgoing stream is hung up on at once, whatever the grace, and does not raise it', async () => {
  const w = world();
  w.connect();
  w.gossipWorks();
  await w.runUntil(20_000);
  assert.deepEqual(w.hangUps, []);
  w.streamDies();
  await w.runUntil(22_000);
  assert.deepEqual(w.hangUps, [22_000]);
  assert.equal(w.watch.graceOf('peer-b'), SETUP_GRACE_MS);
});

test('gossip lost on a long-held connection is still repaired at the next two checks', async () => {
  const w = world();
  w.connect();
  w.gossipWorks();
  await w.runUntil(60_000);
  // Nothing in gossipsub repairs this while the connection lives: the watch hangs up, libp2p redials.
  w.gossipLost();
  await w.runUntil(64_000);
  assert.deepEqual(w.hangUps, [64_000]);
  // The redialled connection sets gossip up; so it stays.
  w.gossipWorks();
  await w.runUntil(120_000);
  assert.deepEqual(w.hangUps, [64_000]);
  assert.equal(w.watch.graceOf('peer-b'), SETUP_GRACE_MS);
});
