/**
 * `npm run bench:topologies:box`: one workload on several topologies, every container on this one
 * machine (single box: the figures are this box's, not a network of hosts'); every node in its own container
 * (tillid/node:dev, built first if missing or stale; Docker must be running).
 *
 *   npm run bench:topologies:box -- [--topologies local,federated-4,federated-7,hybrid-4-12] [--duration 20]
 *                               [--batch 250] [--max-pending 1000] [--no-write]
 *
 * Workload: pre-signed anchors (signed before the network starts), posted in batches of --batch
 * round-robin to the authorities' APIs, closed loop with at most --max-pending submitted but not yet
 * final, for --duration seconds. Reported per topology: finalized tx/s inside the window (and as a
 * ratio to the same run's `local` figure), submission-to-finality p50/p99 as seen by following
 * the first node's blocks, mean CPU % and peak memory per container (`docker stats`, sampled), each
 * container's CPU seconds per finalized block and CPU ms per finalized transaction over the sampled
 * span (its own cost, which is what it would cost on a host of its own), and storage growth per
 * 100,000 transactions — extrapolated from the bytes each node's store grew per
 * finalized transaction during the run (empty blocks included). Also printed: this machine's
 * single-core Ed25519 verify rate as a baseline. Writes deploy/topologies-box.json and
 * deploy/topologies-box.svg unless --no-write.
 *
 * Every container shares this machine's cores: tx/s and finality are single-box figures, labelled
 * so in deploy/TOPOLOGIES.md. Per-node cost at the national workload, central included (the
 * operator's shared nodes), is `npm run bench:national`; `npm run bench:gateway` measures the
 * gateway's own cost against the same nodes.
 */

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { transactions } from '../../client/transactions.ts';
import { DEFAULT_PARAMS } from '../../node/protocol/genesis.ts';
import { generateKeyPair, Signer } from '../../node/protocol/signature.ts';
import { Cluster } from '../integration/cluster.ts';
import { verifyBaseline } from './util.ts';

interface Topology {
  readonly name: string;
  readonly authorities: number;
  readonly observers: number;
}

const KNOWN: Record<string, Topology> = {
  local: { name: 'local', authorities: 1, observers: 0 },
  'federated-4': { name: 'federated-4', authorities: 4, observers: 0 },
  'federated-7': { name: 'federated-7', authorities: 7, observers: 0 },
  'hybrid-4-12': { name: 'hybrid-4-12', authorities: 4, observers: 12 },
};

interface Result {
  topology: string;
  containers: number;
  txPerSecond: number;
  ratioToLocal?: number;
  finalityP50Ms: number;
  finalityP99Ms: number;
  finalized: number;
  cpuPercentMean: Record<string, number>;
  memMbPeak: Record<string, number>;
  storageBytesPerTx: number;
  storageMbPer100kTx: number;
  /**
   * Per container, CPU seconds per finalized block and CPU ms per finalized transaction while
   * sampled: mean CPU % × the sampled span ÷ blocks (transactions) finalized in it. A node's own
   * cost, though every container here shares the same cores.
   */
  cpuSecondsPerBlock: Record<string, number>;
  cpuMsPerTx: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    topologies: { type: 'string', default: 'local,federated-4,federated-7,hybrid-4-12' },
    duration: { type: 'string', default: '20' },
    batch: { type: 'string', default: '250' },
    'max-pending': { type: 'string', default: '1000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration);
const batch = Number(values.batch);
const maxPending = Number(values['max-pending']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const quantile = (sorted: number[], q: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) : Number.NaN;
const du = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);

async function runTopology(t: Topology): Promise<Result> {
  // Enough pre-signed anchors for the window at a rate well above what two cores sustain.
  const count = duration * 1500;
  const keys = Array.from({ length: 4 }, () => new Signer(generateKeyPair()));
  const run = randomBytes(4).toString('hex');
  const expiresAt = Date.now() + DEFAULT_PARAMS.maxTransactionTtlMs - 10 * 60_000;
  log(`${t.name}: signing ${count} anchors`);
  const chainId = `tillid-bench-${t.name}`;
  const build = transactions(chainId);
  const txs = Array.from({ length: count }, (_, i) =>
    JSON.stringify(
      build.anchor(
        keys[i % keys.length] as Signer,
        {
          hash: createHash('sha256').update(`${run}:${i}`).digest('hex'),
          docType: 'status-report',
          ref: `urn:bench:${run}:${i}`,
        },
        { nonce: `${run}-${i}`, expiresAt },
      ),
    ),
  );
  log(`${t.name}: starting ${t.authorities} authorities + ${t.observers} observers`);
  // The node's default consensus timeouts (the tests' short ones make big blocks miss rounds).
  const c = await Cluster.start({
    authorities: t.authorities,
    observers: t.observers,
    chainId,
    timeouts: 'node-defaults',
  });
  try {
    const all = c.nodes.map((n) => n.id);
    const authorities = c.authorities.map((n) => n.id);
    await c.waitForHeight(2, all, 120_000);
    const first = all[0] as string;
    const dataDirs = c.nodes.map((n) => join(n.dir, 'data'));
    const bytesBefore = dataDirs.map(du);

    // Follow finality on the first node.
    const submittedAt = new Float64Array(count);
    const finalizedAt = new Float64Array(count);
    let finalized = 0;
    /** When each block was seen and how many of this run's transactions it held. */
    const seen: { at: number; txs: number }[] = [];
    let following = true;
    const prefix = `urn:bench:${run}:`;
    let next = (await c.status(first)).finalizedHeight + 1;
    const follower = (async () => {
      while (following) {
        const block = await c.get(first, `/v1/blocks/${next}`).catch(() => undefined);
        if (!block) {
          await sleep(20);
          continue;
        }
        const now = performance.now();
        const before = finalized;
        for (const tx of block.transactions as { payload: { ref?: string } }[]) {
          const ref = tx.payload.ref;
          if (!ref?.startsWith(prefix)) continue;
          const i = Number(ref.slice(prefix.length));
          if (finalizedAt[i] === 0) {
            finalizedAt[i] = now;
            finalized++;
          }
        }
        seen.push({ at: now, txs: finalized - before });
        next++;
      }
    })();

    // Sample docker stats while loaded.
    const cpu = new Map<string, number[]>();
    const mem = new Map<string, number>();
    let sampling = true;
    let sampledFrom = Number.NaN;
    let sampledTo = Number.NaN;
    const sampler = (async () => {
      await sleep(2000);
      sampledFrom = performance.now();
      while (sampling) {
        for (const [id, s] of await c.stats().catch(() => new Map())) {
          cpu.set(id, [...(cpu.get(id) ?? []), s.cpu]);
          mem.set(id, Math.max(mem.get(id) ?? 0, s.memMb));
        }
      }
      sampledTo = performance.now();
    })();

    let cursor = 0;
    let accepted = 0;
    let inFlight = 0;
    const start = performance.now();
    const end = start + duration * 1000;
    const finalizedAtStart = finalized;
    const sender = async (k: number) => {
      while (performance.now() < end && cursor < count) {
        if (inFlight + accepted - (finalized - finalizedAtStart) + batch > maxPending) {
          await sleep(5);
          continue;
        }
        const from = cursor;
        cursor = Math.min(count, cursor + batch);
        inFlight += cursor - from;
        const now = performance.now();
        for (let i = from; i < cursor; i++) submittedAt[i] = now;
        const target = authorities[(k + from / batch) % authorities.length] as string;
        const body = `{"transactions":[${txs.slice(from, cursor).join(',')}]}`;
        const response = await fetch(`${await c.url(target)}/v1/transactions/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then((r) => r.json() as Promise<{ results: { hash?: string }[] }>);
        inFlight -= cursor - from;
        accepted += response.results.filter((r) => r.hash).length;
      }
    };
    await Promise.all([0, 1].map(sender));
    const windowEnd = Math.max(performance.now(), end);
    const inWindow = Array.from(finalizedAt).filter((at) => at > 0 && at <= windowEnd).length;
    // Let the backlog drain (for latency of every accepted transaction), then stop measuring.
    const drainUntil = performance.now() + 30_000;
    while (finalized < accepted && performance.now() < drainUntil) await sleep(100);
    following = false;
    sampling = false;
    await Promise.all([follower, sampler]);
    const bytesAfter = dataDirs.map(du);
    const latencies: number[] = [];
    for (let i = 0; i < cursor; i++)
      latencies.push(finalizedAt[i] ? (finalizedAt[i] as number) - (submittedAt[i] as number) : Infinity);
    latencies.sort((a, b) => a - b);
    const grown = bytesAfter.reduce((s, b, i) => s + (b - (bytesBefore[i] as number)), 0) / dataDirs.length;
    const perTx = finalized > 0 ? grown / finalized : Number.NaN;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const span = seen.filter((b) => b.at >= sampledFrom && b.at <= sampledTo);
    const spanTxs = span.reduce((s, b) => s + b.txs, 0);
    const cpuSeconds = (xs: number[]) => (mean(xs) / 100) * ((sampledTo - sampledFrom) / 1000);
    return {
      topology: t.name,
      containers: all.length,
      txPerSecond: inWindow / ((windowEnd - start) / 1000),
      finalityP50Ms: quantile(latencies, 0.5),
      finalityP99Ms: quantile(latencies, 0.99),
      finalized,
      cpuPercentMean: Object.fromEntries([...cpu].map(([id, xs]) => [id, Math.round(mean(xs))])),
      memMbPeak: Object.fromEntries([...mem].map(([id, m]) => [id, Math.round(m)])),
      storageBytesPerTx: Math.round(perTx),
      storageMbPer100kTx: Math.round((perTx * 100_000) / 1e5) / 10,
      cpuSecondsPerBlock: Object.fromEntries(
        [...cpu].map(([id, xs]) => [
          id,
          Math.round((cpuSeconds(xs) / Math.max(1, span.length)) * 1000) / 1000,
        ]),
      ),
      cpuMsPerTx: Object.fromEntries(
        [...cpu].map(([id, xs]) => [id, Math.round((cpuSeconds(xs) / Math.max(1, spanTxs)) * 1e5) / 100]),
      ),
    };
  } finally {
    await c.stop();
  }
}

function svgChart(results: Result[], baseline: number): string {
  const w = 640;
  const rowH = 46;
  const h = 70 + results.length * rowH;
  const maxTps = Math.max(...results.map((r) => r.txPerSecond), 1);
  const bars = results
    .map((r, i) => {
      const y = 50 + i * rowH;
      const bw = Math.max(2, (r.txPerSecond / maxTps) * 330);
      return [
        `<text x="10" y="${y + 18}" font-size="13">${r.topology} (${r.containers})</text>`,
        `<rect x="150" y="${y + 4}" width="${bw.toFixed(1)}" height="20" fill="#2f6f9f"/>`,
        `<text x="${(155 + bw).toFixed(1)}" y="${y + 19}" font-size="12">${r.txPerSecond.toFixed(0)} tx/s · p50 ${r.finalityP50Ms.toFixed(0)} ms · p99 ${Number.isFinite(r.finalityP99Ms) ? r.finalityP99Ms.toFixed(0) : '∞'} ms</text>`,
        `<text x="150" y="${y + 40}" font-size="11" fill="#555">${r.storageMbPer100kTx} MB per 100k tx per node · ${(r.ratioToLocal ?? 1).toFixed(2)}× local</text>`,
      ].join('\n');
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<title>Tillid topologies: finalized tx/s and finality per topology</title>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">Tillid topologies on ONE machine (single box): finalized tx/s and finality</text>
<text x="10" y="40" font-size="11" fill="#555">${cpus().length} cores shared by every container; baseline Ed25519 verify ${baseline.toFixed(0)}/s on one core (npm run bench:topologies:box)</text>
${bars}
</svg>
`;
}

const baseline = verifyBaseline();
log(
  `baseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
);
const results: Result[] = [];
for (const name of (values.topologies as string).split(',')) {
  const t = KNOWN[name];
  if (!t) throw new Error(`unknown topology ${name}; known: ${Object.keys(KNOWN).join(', ')}`);
  results.push(await runTopology(t));
  log(JSON.stringify(results.at(-1)));
}
const local = results.find((r) => r.topology === 'local');
for (const r of results) if (local) r.ratioToLocal = r.txPerSecond / local.txPerSecond;

console.log(
  '\n| topology | containers | tx/s | × local | finality p50 | p99 | CPU % per container (mean) | CPU s per block per container | CPU ms per tx per container | memory MB per container (peak) | MB per 100k tx per node |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const cpu = Object.values(r.cpuPercentMean);
  const mem = Object.values(r.memMbPeak);
  const range = (xs: number[]) => (xs.length ? `${Math.min(...xs)}–${Math.max(...xs)}` : 'n/a');
  console.log(
    `| ${r.topology} | ${r.containers} | ${r.txPerSecond.toFixed(0)} | ${(r.ratioToLocal ?? Number.NaN).toFixed(2)} | ${r.finalityP50Ms.toFixed(0)} ms | ${Number.isFinite(r.finalityP99Ms) ? r.finalityP99Ms.toFixed(0) : '∞'} ms | ${range(cpu)} | ${range(Object.values(r.cpuSecondsPerBlock))} | ${range(Object.values(r.cpuMsPerTx))} | ${range(mem)} | ${r.storageMbPer100kTx} |`,
  );
}
console.log(`\nbaseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core (same run)`);
if (!values['no-write']) {
  const root = join(import.meta.dirname, '..', '..', 'deploy');
  writeFileSync(
    join(root, 'topologies-box.json'),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), cores: cpus().length, baselineVerifyPerSecond: Math.round(baseline), duration, batch, maxPending, results }, null, 2)}\n`,
  );
  writeFileSync(join(root, 'topologies-box.svg'), svgChart(results, baseline));
  console.log('wrote deploy/topologies-box.json and deploy/topologies-box.svg');
}
