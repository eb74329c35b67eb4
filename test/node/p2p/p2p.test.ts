/** Real libp2p hosts on 127.0.0.1: allow-listed gossip, validation, penalties and block sync. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createLogger } from '../../../node/log.ts';
import { Gossip, type TopicHandler, topicName } from '../../../node/p2p/gossip.ts';
import { createHost, type RunningHost } from '../../../node/p2p/host.ts';
import { fetchBlocks, serveBlocks } from '../../../node/p2p/sync.ts';
import type { Block } from '../../../node/protocol/block.ts';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { generateKeyPair, waitFor } from '../../helpers.ts';

const log = createLogger('silent');

async function start(
  t: { after(fn: () => Promise<void>): void },
  key: KeyPair,
  allowed: KeyPair[],
  peers: string[] = [],
) {
  const keys = new Set(allowed.map((k) => k.publicKey));
  const running = await createHost({
    identity: key,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers,
    topics: ['tx', 'vote'].map((n) => topicName('tillid-test', n)),
    allowed: (k) => keys.has(k),
    log,
  });
  t.after(() => running.stop());
  const outcomes = new Counter({
    name: 'gossip_outcomes',
    help: 'x',
    labelNames: ['topic', 'outcome'] as const,
    registers: [new Registry()],
  });
  return {
    running,
    gossip: new Gossip(running, 'tillid-test', outcomes, log),
    outcomes,
    address: running.host.getMultiaddrs()[0]?.toString() as string,
  };
}

const connected = (a: RunningHost, b: RunningHost) => a.host.getConnections(b.host.peerId).length > 0;

test('allow-listed peers gossip validated messages; an unknown key cannot connect', async (t) => {
  const [a, b, c, outsider] = [
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ] as KeyPair[];
  const members = [a, b, c] as KeyPair[];
  const hub = await start(t, a as KeyPair, members);
  const second = await start(t, b as KeyPair, members, [hub.address]);
  const third = await start(t, c as KeyPair, members, [hub.address]);
  const received = new Map<string, number[]>();
  for (const [name, node] of [
    ['hub', hub],
    ['second', second],
    ['third', third],
  ] as const) {
    received.set(name, []);
    node.gossip.on<{ n: number }>('tx', {
      validate: (m) =>
        typeof (m as { n?: unknown }).n === 'number'
          ? { verdict: 'accept', value: m as { n: number } }
          : { verdict: 'reject', reason: 'no n' },
      deliver: (value) => received.get(name)?.push(value.n),
    });
  }
  await waitFor(async () =>
    connected(hub.running, second.running) && connected(hub.running, third.running) ? true : undefined,
  );
  let n = 0;
  await waitFor(async () => {
    await second.gossip.publish('tx', { n: n++ });
    return received.get('hub')?.length && received.get('third')?.length ? true : undefined;
  });
  assert.equal(received.get('second')?.length, 0, 'a publisher does not deliver to itself');
  assert.ok(
    received.get('third')?.every((v) => v < n),
    'third got messages from second through the hub',
  );

  const intruder = await start(t, outsider as KeyPair, [...members, outsider as KeyPair], [hub.address]);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(
    connected(intruder.running, hub.running),
    false,
    'the hub refuses a key that is not on its allow-list',
  );
});

test('a peer that keeps sending invalid messages is counted, rejected and disconnected', async (t) => {
  const [a, b] = [generateKeyPair(), generateKeyPair()] as KeyPair[];
  const honest = await start(t, a as KeyPair, [a as KeyPair, b as KeyPair]);
  const noisy = await start(t, b as KeyPair, [a as KeyPair, b as KeyPair], [honest.address]);
  let delivered = 0;
  honest.gossip.on('vote', {
    validate: () => ({ verdict: 'reject', reason: 'always bad' }),
    deliver: () => delivered++,
  });
  noisy.gossip.on('vote', { validate: (m) => ({ verdict: 'accept', value: m }), deliver: () => {} });
  await waitFor(async () => (connected(honest.running, noisy.running) ? true : undefined));
  await new Promise((r) => setTimeout(r, 1500)); // subscriptions propagate
  for (let i = 0; i < 40 && connected(honest.running, noisy.running); i++) {
    await noisy.gossip.publish('vote', { junk: i });
    await new Promise((r) => setTimeout(r, 30));
  }
  await waitFor(async () => (!connected(honest.running, noisy.running) ? true : undefined), 5000);
  const rejected =
    (await honest.outcomes.get()).values.find((v) => v.labels.outcome === 'reject')?.value ?? 0;
  assert.ok(rejected >= 5, `rejected ${rejected}`);
  assert.equal(delivered, 0);
});

test('block sync serves a bounded range of blocks to a member', async (t) => {
  const [a, b] = [generateKeyPair(), generateKeyPair()] as KeyPair[];
  const server = await start(t, a as KeyPair, [a as KeyPair, b as KeyPair]);
  const client = await start(t, b as KeyPair, [a as KeyPair, b as KeyPair], [server.address]);
  const fake = (height: number) =>
    ({ header: { height }, transactions: [], certificate: null }) as unknown as Block;
  await serveBlocks(
    server.running.host,
    'tillid-test',
    { height: () => 100, block: async (h) => fake(h) },
    log,
  );
  await waitFor(async () => (connected(client.running, server.running) ? true : undefined));
  const blocks = (await fetchBlocks(
    client.running.host,
    'tillid-test',
    server.running.host.peerId,
    95,
    10,
  )) as Block[];
  assert.deepEqual(
    blocks.map((b) => b.header.height),
    [95, 96, 97, 98, 99, 100],
  );
  const capped = (await fetchBlocks(
    client.running.host,
    'tillid-test',
    server.running.host.peerId,
    1,
    1000,
  )) as Block[];
  assert.equal(capped.length, 64);
});

/** Peers a node forwarded others' messages to, from its gossipsub counters (all topics). */
const forwardedTo = async (running: RunningHost): Promise<number> => {
  const registry = new Registry();
  for (const m of running.metrics) registry.registerMetric(m);
  const metric = registry.getSingleMetric('tillid_gossipsub_msg_forward_peers_total');
  assert.ok(metric, 'the forward counter is kept');
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
};

/** A 'vote'-topic handler whose messages name their author's peer id, as votes name their signer. */
type Authored = { author: string; n: number };
const authored = (into: number[]): TopicHandler<Authored> => ({
  validate: (m) => ({ verdict: 'accept', value: m as Authored }),
  deliver: (value) => into.push(value.n),
  fromAuthor: (value, from) => value.author === from.toString(),
});

test('a message straight from its author is not forwarded, and still reaches a peer not connected to the author', async (t) => {
  const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
  const members = [a, b, c] as KeyPair[];
  // second and third know only the hub: no link between them.
  const hub = await start(t, a as KeyPair, members);
  const second = await start(t, b as KeyPair, members, [hub.address]);
  const third = await start(t, c as KeyPair, members, [hub.address]);
  const got = { hub: [] as number[], third: [] as number[] };
  hub.gossip.on('vote', authored(got.hub));
  second.gossip.on('vote', authored([]));
  third.gossip.on('vote', authored(got.third));
  await waitFor(async () =>
    connected(hub.running, second.running) && connected(hub.running, third.running) ? true : undefined,
  );
  const author = second.running.host.peerId.toString();
  let n = 0;
  await waitFor(async () => {
    await second.gossip.publish('vote', { author, n: n++ });
    return got.hub.length > 0 ? true : undefined;
  });
  const first = got.hub[0] as number;
  // The hub had it from its author and did not forward it; it announced it (IHAVE), and third,
  // which lacks a link to the author, asked for it.
  await waitFor(async () => (got.third.includes(first) ? true : undefined), 10_000);
  assert.equal(await forwardedTo(hub.running), 0, 'the hub forwarded none of the author’s messages');
  assert.equal(connected(second.running, third.running), false, 'second and third were never linked');

  // A message the hub did not get from its author is forwarded at once, as before.
  const relayed = 1_000_000;
  await hub.gossip.publish('vote', { author, n: relayed });
  await waitFor(async () => (got.third.includes(relayed) ? true : undefined), 10_000);
});
