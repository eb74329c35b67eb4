/**
 * `npm run bench:topologies`: the topologies compared on what each node costs, every node a host of
 * its own over an emulated WAN. Each node is a real node process (`tillid node start`) in its own
 * network namespace; hosts reach each other only through the delaying relay
 * (test/fixtures/wan-hosts.ts and wan-relay.ts, shared with bench:wan: --delay-ms plus up to
 * --jitter-ms each way, 5–15 ms by default). Needs root.
 *
 *   npm run bench:topologies -- [--topologies local,federated-4,federated-7,central-4]
 *       [--delay-ms 5] [--jitter-ms 10] [--rate 20] [--municipal-seconds 30] [--saturation-seconds 20]
 *       [--no-write]
 *
 *   local         one authority (its own chain);
 *   federated-N   N authorities, one per municipality (bench:wan's scenario, wan-run.ts: a
 *                 municipal load of --rate anchors a second, then saturation);
 *   central-N     the operator's N shared nodes and the gateway in front of them
 *                 (topologies-central.ts): --rate authenticated contract creations a second through
 *                 the gateway, each answered once final and its certificate verified.
 *
 * Per topology and load, per node, from /proc (nothing the node reports): CPU seconds per block,
 * bytes through its host's interface per block, RSS after warm-up and at peak; the gateway's CPU
 * and bytes per call; finality p50/p99. CPU seconds and bytes per block are the node's own and do
 * not depend on what else shares the machine. Latency and tx/s do: every host here is on this one
 * machine's cores, so they are single-box figures and are printed as such, with the load average.
 * Writes deploy/topologies.json unless --no-write. (The older comparison with every node a Docker
 * container and no WAN is `npm run bench:topologies:box`.)
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WanHosts } from '../fixtures/wan-hosts.ts';
import { type CentralResult, runCentral } from './topologies-central.ts';
import { median, percentile, type Sample } from './wan-proc.ts';
import { type RunResult, runScenario } from './wan-run.ts';

const { values } = parseArgs({
  options: {
    topologies: { type: 'string', default: 'local,federated-4,federated-7,central-4' },
    'delay-ms': { type: 'string', default: '5' },
    'jitter-ms': { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    'municipal-seconds': { type: 'string', default: '30' },
    'saturation-seconds': { type: 'string', default: '20' },
    timeout: { type: 'string', default: '3600' },
    'no-write': { type: 'boolean', default: false },
  },
});
if (process.getuid?.() !== 0) {
  console.error('bench:topologies needs root: each host is a network namespace (ip netns)');
  process.exit(1);
}
const num = (name: string) => {
  const v = Number(values[name as keyof typeof values]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  return v;
};
const wanDelay = { delayMs: num('delay-ms'), jitterMs: num('jitter-ms') };
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const t0 = performance.now();
const log = (line: string) =>
  console.error(
    `[${new Date().toISOString().slice(11, 19)} +${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}`,
  );

let current: WanHosts | undefined;
const onHosts = (wan: WanHosts | undefined) => {
  current = wan;
};
process.on('exit', () => current?.destroy());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    current?.destroy();
    process.exit(130);
  });
setTimeout(() => {
  console.error(`bench:topologies: overall timeout of ${values.timeout} s; removing the hosts`);
  current?.destroy();
  process.exit(2);
}, num('timeout') * 1000).unref();

/** One row: a topology under one load, per node. */
interface Row {
  topology: string;
  load: string;
  hosts: number;
  loadAverage: string;
  blocks: number;
  txPerBlock: number;
  finalityP50Ms: number;
  finalityP99Ms: number;
  notFinal: number;
  txPerSecond?: number;
  cpuSecondsPerBlock: { median: number; max: number };
  bytesPerBlock: { median: number; max: number };
  cpuMsPerTx: number;
  rssMb?: { warm: number; peak: number };
  gateway?: { cpuMsPerCall: number; bytesSentPerCall: number; rssMb: number; peakRssMb: number };
}

const perBlock = (cost: Sample, blocks: number) => ({
  cpu: cost.cpu.map((c) => c / Math.max(1, blocks)),
  bytes: cost.bytes.map((b) => b / Math.max(1, blocks)),
});
const spread = (xs: number[]) => ({ median: median(xs), max: Math.max(...xs) });

function rowsOf(name: string, r: RunResult): Row[] {
  const rss = { warm: median(r.idleRss), peak: Math.max(...r.peakRss) };
  return (['municipal', 'saturation'] as const).map((k) => {
    const p = r[k];
    const b = perBlock(p.cost, p.blocks);
    return {
      topology: name,
      load: k === 'municipal' ? `municipal, ${values.rate} tx/s` : 'saturation',
      hosts: r.n,
      loadAverage: load(),
      blocks: p.blocks,
      txPerBlock: p.txPerBlock,
      finalityP50Ms: percentile(p.latencies, 50),
      finalityP99Ms: percentile(p.latencies, 99),
      notFinal: p.notFinal,
      ...(k === 'saturation' ? { txPerSecond: r.saturation.tps } : {}),
      cpuSecondsPerBlock: spread(b.cpu),
      bytesPerBlock: spread(b.bytes),
      cpuMsPerTx: p.finalized ? (1000 * median(p.cost.cpu)) / p.finalized : Number.NaN,
      ...(k === 'municipal' ? { rssMb: rss } : {}),
    };
  });
}

function centralRow(name: string, r: CentralResult): Row {
  const b = perBlock(r.cost, r.blocks);
  return {
    topology: name,
    load: `municipal, ${values.rate} calls/s through the gateway`,
    hosts: r.n + 1,
    loadAverage: load(),
    blocks: r.blocks,
    txPerBlock: r.answered / Math.max(1, r.blocks),
    finalityP50Ms: percentile(r.latencies, 50),
    finalityP99Ms: percentile(r.latencies, 99),
    notFinal: r.calls - r.answered,
    cpuSecondsPerBlock: spread(b.cpu),
    bytesPerBlock: spread(b.bytes),
    cpuMsPerTx: r.answered ? (1000 * median(r.cost.cpu)) / r.answered : Number.NaN,
    rssMb: { warm: median(r.idleRss), peak: Math.max(...r.peakRss) },
    gateway: {
      cpuMsPerCall: (1000 * r.gateway.cpuSeconds) / r.calls,
      bytesSentPerCall: r.gateway.bytesSent / r.calls,
      rssMb: r.gateway.rssMb,
      peakRssMb: r.gateway.peakRssMb,
    },
  };
}

const loadAtStart = load();
log(
  `load average ${loadAtStart}; ${cpus().length} CPUs; WAN ${wanDelay.delayMs} ms + up to ${wanDelay.jitterMs} ms each way`,
);
const rows: Row[] = [];
const failed: { topology: string; error: string; loadAverage: string }[] = [];
for (const name of (values.topologies as string).split(',')) {
  const m = /^(local|federated-(\d+)|central-(\d+))$/.exec(name);
  if (!m) throw new Error(`unknown topology ${name}: local, federated-N or central-N`);
  try {
    if (m[3]) {
      const r = await runCentral({
        n: Number(m[3]),
        ...wanDelay,
        rate: num('rate'),
        seconds: num('municipal-seconds'),
        log,
        onHosts,
      });
      if (r.failures.size)
        log(`${name}: calls failed: ${[...r.failures].map(([c, k]) => `${c} ${k}`).join(', ')}`);
      rows.push(centralRow(name, r));
    } else {
      const r = await runScenario({
        n: m[2] ? Number(m[2]) : 1,
        ...wanDelay,
        rate: num('rate'),
        municipalSeconds: num('municipal-seconds'),
        saturationSeconds: num('saturation-seconds'),
        batch: 100,
        maxPending: 1000,
        log,
        onHosts,
      });
      rows.push(...rowsOf(name, r));
    }
    log(`${name} done; load average ${load()}`);
  } catch (e) {
    failed.push({ topology: name, error: (e as Error).message, loadAverage: load() });
    log(`${name}: FAILED — ${(e as Error).message}`);
  }
}

const msText = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
const kb = (v: number) => (v / 1024).toFixed(0);
console.log(
  `\nbench:topologies — every node a host of its own (network namespace), ${wanDelay.delayMs} ms + up to ${wanDelay.jitterMs} ms each way between hosts; all on this one box (${cpus().length} CPUs); load average at start ${loadAtStart}, at end ${load()}\n`,
);
console.log(
  '| topology | load | hosts | blocks | tx/block | CPU s per block per node (median / max) | KB per block per node (median / max) | node CPU ms per tx | RSS per node warm / peak MB | gateway per call: CPU ms, KB sent; RSS MB | finality p50 / p99 (single box) | saturation tx/s (single box) | load average |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.topology} | ${r.load} | ${r.hosts} | ${r.blocks} | ${r.txPerBlock.toFixed(1)} | ${r.cpuSecondsPerBlock.median.toFixed(3)} / ${r.cpuSecondsPerBlock.max.toFixed(3)} | ${kb(r.bytesPerBlock.median)} / ${kb(r.bytesPerBlock.max)} | ${r.cpuMsPerTx.toFixed(2)} | ${r.rssMb ? `${r.rssMb.warm.toFixed(0)} / ${r.rssMb.peak.toFixed(0)}` : ''} | ${r.gateway ? `${r.gateway.cpuMsPerCall.toFixed(2)}, ${kb(r.gateway.bytesSentPerCall)}; ${r.gateway.rssMb.toFixed(0)} / ${r.gateway.peakRssMb.toFixed(0)}` : '–'} | ${msText(r.finalityP50Ms)} / ${msText(r.finalityP99Ms)}${r.notFinal ? ` (${r.notFinal} not final)` : ''} | ${r.txPerSecond !== undefined ? r.txPerSecond.toFixed(0) : ''} | ${r.loadAverage} |`,
  );
for (const f of failed) console.log(`\n${f.topology}: FAILED (load average ${f.loadAverage}) — ${f.error}`);
if (!values['no-write']) {
  const file = join(import.meta.dirname, '..', '..', 'deploy', 'topologies.json');
  writeFileSync(
    file,
    `${JSON.stringify({ measuredAt: new Date().toISOString(), cores: cpus().length, loadAverage: { start: loadAtStart, end: load() }, wan: wanDelay, rate: num('rate'), rows, failed }, null, 2)}\n`,
  );
  console.log('\nwrote deploy/topologies.json');
}
process.exit(failed.length ? 1 : 0);
