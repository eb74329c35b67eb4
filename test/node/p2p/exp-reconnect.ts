import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../../node/log.ts';
import { createHost, type RunningHost } from '../../../node/p2p/host.ts';
import { peerIdOf } from '../../../node/p2p/identity.ts';
import { generateKeyPair } from '../../../node/protocol/signature.ts';
import { BlackholeProxy } from './blackhole-proxy.ts';

const N = Number(process.argv[2] ?? 2);
const PART_MS = Number(process.argv[3] ?? 10_000);
const log = createLogger(process.env.LOG ?? 'silent');
const keys = Array.from({ length: N }, () => generateKeyPair());
const ports = [47310, 47311, 47312, 47313].slice(0, N);
const ids = await Promise.all(keys.map((k) => peerIdOf(k)));
// proxy[i] forwards to node i; everyone dials node i through it.
// proxies[i][j]: how i dials j.
const proxies = ports.map(() => ports.map((p) => new BlackholeProxy(p)));
for (const row of proxies) for (const p of row) await p.listen();
const moved = N === 2 ? [1] : [2, 3];
const topic = 'exp';
const hosts: RunningHost[] = [];
for (let i = 0; i < N; i++) {
  hosts.push(
    await createHost({
      keyPair: keys[i]!,
      listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
      peers: ids.flatMap((id, j) =>
        j === i ? [] : [`/ip4/127.0.0.1/tcp/${proxies[i]![j]!.port}/p2p/${id}`],
      ),
      topics: [topic],
      allowed: () => true,
      log,
    }),
  );
}
const got = new Map<string, number>();
let healedAt = 0;
hosts.forEach((h, i) => {
  h.host.services.pubsub.subscribe(topic);
  h.host.services.pubsub.addEventListener('message', (e) => {
    const m = JSON.parse(new TextDecoder().decode(e.detail.data));
    if (m.after && healedAt) {
      const k = `${m.from}->${i}`;
      if (!got.has(k)) got.set(k, Date.now() - healedAt);
    }
  });
});
let seq = 0;
let after = false;
const pub = setInterval(() => {
  hosts.forEach(
    (h, i) =>
      void h.host.services.pubsub
        .publish(topic, new TextEncoder().encode(JSON.stringify({ from: i, seq: seq++, after })))
        .catch(() => {}),
  );
}, 250);
await sleep(4000);
console.log(
  'connections before',
  hosts.map((h) => h.host.getConnections().length),
);
for (let i = 0; i < N; i++)
  for (let j = 0; j < N; j++) {
    const p = proxies[i]![j]!;
    if (moved.includes(i) || moved.includes(j)) p.partition();
    if (moved.includes(i) && moved.includes(j)) p.heal(); // same side: may reconnect
  }
await sleep(PART_MS);
console.log(
  'connections at heal',
  hosts.map((h) => h.host.getConnections().length),
);
for (const row of proxies) for (const p of row) p.heal();
healedAt = Date.now();
after = true;
const want = N * (N - 1);
while (got.size < want && Date.now() - healedAt < 120_000) await sleep(250);
console.log(
  'after heal',
  Date.now() - healedAt,
  'ms;',
  [...got.entries()].map(([k, v]) => `${k}:${v}`).join(' '),
);
console.log(
  'connections',
  hosts.map((h) => h.host.getConnections().length),
  'gossip peers',
  hosts.map((h) => h.host.services.pubsub.getSubscribers(topic).length),
);
await sleep(Number(process.env.SETTLE ?? 25000));
const edges = hosts.map((h, i) => {
  const subs = new Set(h.host.services.pubsub.getSubscribers(topic).map(String));
  const conns = new Set(h.host.getConnections().map((c) => c.remotePeer.toString()));
  return ids
    .map((id, j) =>
      j === i ? '-' : `${conns.has(id.toString()) ? 'C' : '.'}${subs.has(id.toString()) ? 'G' : '.'}`,
    )
    .join(' ');
});
console.log('settled: row i = node i view of j (C=connected, G=gossip peer)');
for (const e of edges) console.log('  ', e);
got.clear();
healedAt = Date.now();
const phase2 = Date.now();
while (got.size < want && Date.now() - phase2 < 10_000) await sleep(250);
console.log('phase2 delivered', got.size, 'of', want, [...got.keys()].join(' '));
clearInterval(pub);
for (const h of hosts) await h.stop();
for (const row of proxies) for (const p of row) await p.close();
process.exit(0);
