/**
 * `npm run bench:wan`: N authorities as separate hosts over an emulated WAN. Each authority is a
 * real node process (`tillid node start`) in its own Linux network namespace; the hosts reach each
 * other only through a relay that holds every chunk --delay-ms plus up to --jitter-ms each way
 * (test/fixtures/wan-relay.ts: this kernel has no netem). The network is made by
 * `tillid network init --member Name=host`, as separate hosts are configured.
 *
 *   npm run bench:wan [-- --n 16,31] [--baseline 4] [--delay-ms 5] [--jitter-ms 10]
 *       [--rate 20] [--municipal-seconds 30] [--saturation-seconds 30] [--cpu-prof DIR]
 *       [--log-dir DIR] [--log-level debug]
 *
 * Per N, one after another (never side by side), after a warm-up: the municipal load (--rate tx/s
 * open loop, single POSTs round-robin) and saturation (closed loop, batches of --batch, at most
 * --max-pending not yet final). Printed: finality p50/p99 (submission to the block on node 1, read
 * through the relay), CPU seconds per block per node and bytes per block per node (both from /proc:
 * test/bench/wan-proc.ts), RSS per node, round changes, the relay's own CPU, and a projection of
 * what one node on its own host would sustain from its measured CPU per transaction. The same-run
 * baseline is --baseline authorities (default 4) with the same delay. Every process runs on this
 * one machine, so the nodes share its cores: the figures per node are costs, the latencies are
 * this box's, and the projection is labelled as one.
 *
 * Needs root (ip netns). It never hangs and leaves nothing behind: an overall --timeout; on exit,
 * on a signal or an error every process it started is killed and the namespaces (named tw<pid>-…, or
 * $TILLID_WAN_ID-… when set) and links it made are deleted; no other namespace is touched.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { WanHosts } from '../fixtures/wan-hosts.ts';
import { median, percentile } from './wan-proc.ts';
import { type PhaseResult, type RunResult, runScenario } from './wan-run.ts';
import { trafficLines } from './wan-traffic.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '16,31' },
    baseline: { type: 'string', default: '4' },
    'delay-ms': { type: 'string', default: '5' },
    'jitter-ms': { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    'municipal-seconds': { type: 'string', default: '30' },
    'saturation-seconds': { type: 'string', default: '30' },
    batch: { type: 'string', default: '100' },
    'max-pending': { type: 'string', default: '1000' },
    'block-interval-ms': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'log-dir': { type: 'string' },
    'log-level': { type: 'string' },
    timeout: { type: 'string', default: '3600' },
  },
});
const whole = (text: string | undefined, name: string, min: number): number => {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
  return v;
};
const ns = (values.n as string).split(',').map((t) => whole(t, 'n', 1));
const baseline = whole(values.baseline, 'baseline', 0);
const sizes = baseline > 0 ? [baseline, ...ns.filter((x) => x !== baseline)] : ns;
if (process.getuid?.() !== 0) {
  console.error('bench:wan needs root: each host is a network namespace (ip netns)');
  process.exit(1);
}

const t0 = performance.now();
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const log = (line: string) =>
  console.error(
    `[${new Date().toISOString().slice(11, 19)} +${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}`,
  );

// ---- never hang, never leave namespaces or processes behind --------------------------------------
let current: WanHosts | undefined;
const destroy = () => {
  current?.destroy();
  current = undefined;
};
process.on('exit', destroy);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    console.error(`${signal}: removing the hosts`);
    destroy();
    process.exit(130);
  });
const timeoutS = whole(values.timeout, 'timeout', 1);
setTimeout(() => {
  console.error(`bench:wan: overall timeout of ${timeoutS} s; removing the hosts`);
  destroy();
  process.exit(2);
}, timeoutS * 1000).unref();

const loadAtStart = load();
log(
  `sizes ${sizes.join(', ')}; load average ${loadAtStart}; ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
);
const results: (RunResult | { n: number; error: string; load: string })[] = [];
// ---- report, each N as soon as it is measured ---------------------------------------------------
const out = console.log;
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const perBlock = (p: PhaseResult, xs: readonly number[]) =>
  xs.map((x) => (p.blocks ? x / p.blocks : Number.NaN));
const spread = (xs: readonly number[], unit: (v: number) => string) =>
  `${unit(median(xs))} (max ${unit(Math.max(...xs))})`;
const cpuS = (v: number) => `${v.toFixed(3)} s`;
const kb = (v: number) => `${(v / 1024).toFixed(0)} KB`;
const mb = (v: number) => `${v.toFixed(0)} MB`;
const phaseLines = (name: string, p: PhaseResult, cores: number) => {
  const box = (sum(p.cost.cpu) + p.relayCpu) / p.wallSeconds / cores;
  out(
    `  ${name.padEnd(11)} finality p50 ${ms(percentile(p.latencies, 50))}, p99 ${ms(percentile(p.latencies, 99))}, max ${ms(p.latencies.at(-1) ?? Number.NaN)}; ${p.accepted} accepted, ${p.notFinal} not final 60 s after the load`,
  );
  out(
    `  ${''.padEnd(11)} ${p.blocks} blocks in ${p.wallSeconds.toFixed(0)} s (load and drain), ${p.txPerBlock.toFixed(1)} tx/block, ${p.roundAbove0} decided after round 0; per node per block: CPU ${spread(perBlock(p, p.cost.cpu), cpuS)}, network ${spread(perBlock(p, p.cost.bytes), kb)}`,
  );
  out(
    `  ${''.padEnd(11)} node CPU ${spread(
      p.cost.cpu.map((c) => (100 * c) / p.wallSeconds),
      (v) => `${v.toFixed(0)} %`,
    )} of a core; all nodes together ${(sum(p.cost.cpu) / p.blocks).toFixed(2)} CPU s per block (${(sum(p.cost.cpu) / p.blocks / cores).toFixed(2)} s of this whole box); relay ${((100 * p.relayCpu) / p.wallSeconds).toFixed(0)} %; the box's ${cores} cores ${(100 * box).toFixed(0)} % busy${p.rejections.size ? `; refused ${[...p.rejections].map(([c, k]) => `${c} ${k}`).join(', ')}` : ''}`,
  );
  for (const line of trafficLines(p.traffic)) out(`  ${''.padEnd(11)} per node per block (median): ${line}`);
};
out('');
out(
  `bench:wan — each authority a node process in its own network namespace, ${values['delay-ms']} ms + up to ${values['jitter-ms']} ms jitter each way between hosts (userspace relay); all on this one box (${cpus().length} CPUs shared); load average at start ${loadAtStart}`,
);
out(
  `loads: municipal ${values.rate} tx/s open loop for ${values['municipal-seconds']} s; saturation closed loop for ${values['saturation-seconds']} s, batches of ${values.batch}, ≤ ${values['max-pending']} pending`,
);
let firstSlow: number | undefined;
const printResult = (r: (typeof results)[number]) => {
  out('');
  if ('error' in r) {
    out(`N=${r.n}${r.n === baseline ? ' (baseline)' : ''}: FAILED — ${r.error} (load average ${r.load})`);
    return;
  }
  const cores = cpus().length;
  const m = r.municipal;
  const s = r.saturation;
  out(
    `N=${r.n}${r.n === baseline ? ' (same-run baseline)' : ''}: up and fully connected in ${r.startSeconds.toFixed(0)} s; RSS per node after warm-up ${spread(r.idleRss, mb)}, peak ${spread(r.peakRss, mb)}; round changes per node ${median(r.roundChanges).toFixed(0)} (max ${Math.max(...r.roundChanges)}); ${r.caughtUpBySync} catch-ups by block sync`,
  );
  phaseLines('municipal', m, cores);
  phaseLines('saturation', s, cores);
  const cpuPerTx = s.finalized ? median(s.cost.cpu) / s.finalized : Number.NaN;
  out(
    `  saturation  ${s.tps.toFixed(0)} tx/s finalized while loaded (${(s.tps / (results[0] && !('error' in results[0]) ? results[0].saturation.tps : Number.NaN)).toFixed(2)}× the baseline)`,
  );
  // A node's CPU per block is its own; how many blocks a second it must keep up with is not: on this
  // box, with every node on the same cores, blocks come as slowly as the shared CPU lets them, so
  // CPU per second here understates a node's share of a host of its own. The projection takes the
  // block rate of the same-run baseline (its nodes were not short of CPU at the municipal load).
  const cpuPerBlock = m.blocks ? median(m.cost.cpu) / m.blocks : Number.NaN;
  const base = results[0] && !('error' in results[0]) && results[0].n === baseline ? results[0] : undefined;
  const rate = (x: PhaseResult) => x.blocks / x.wallSeconds;
  const baseRate = base ? rate(base.municipal) : rate(m);
  out(
    `  PROJECTION  one node alone on a host: ${(1 / cpuPerTx).toFixed(0)} tx/s per core it gives the node (median node CPU ${(1000 * cpuPerTx).toFixed(2)} ms per finalized transaction at saturation); at the municipal load ${cpuS(cpuPerBlock)} CPU per block, so at most ${(1 / cpuPerBlock).toFixed(1)} blocks/s on one core; at ${baseRate.toFixed(2)} blocks/s (N=${base ? baseline : r.n}'s municipal rate in this run) ${((100 * cpuPerBlock * baseRate) / 2).toFixed(1)} % of a 2-core host (at this box's ${rate(m).toFixed(2)} blocks/s: ${((100 * cpuPerBlock * rate(m)) / 2).toFixed(1)} %)`,
  );
  const slow = percentile(m.latencies, 99) > 2000;
  if (slow && firstSlow === undefined) firstSlow = r.n;
  out(
    `  target (31 authorities, municipal load: p50 ≤ 1 s, p99 ≤ 2 s): ${percentile(m.latencies, 50) <= 1000 && !slow ? 'met' : 'MISSED'} at N=${r.n}`,
  );
};
for (const n of sizes) {
  try {
    const r = await runScenario({
      n,
      delayMs: whole(values['delay-ms'], 'delay-ms', 0),
      jitterMs: whole(values['jitter-ms'], 'jitter-ms', 0),
      rate: whole(values.rate, 'rate', 1),
      municipalSeconds: whole(values['municipal-seconds'], 'municipal-seconds', 1),
      saturationSeconds: whole(values['saturation-seconds'], 'saturation-seconds', 1),
      batch: whole(values.batch, 'batch', 1),
      maxPending: whole(values['max-pending'], 'max-pending', 1),
      ...(values['block-interval-ms']
        ? { blockIntervalMs: whole(values['block-interval-ms'], 'block-interval-ms', 10) }
        : {}),
      ...(values['cpu-prof'] ? { cpuProfDir: resolve(values['cpu-prof']) } : {}),
      ...(values['log-dir'] ? { logDir: resolve(values['log-dir']) } : {}),
      ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
      log,
      onHosts: (wan) => {
        current = wan;
      },
    });
    results.push(r);
    printResult(r);
    log(`N=${n} done; load average ${load()}`);
  } catch (e) {
    log(`N=${n} FAILED: ${(e as Error).message}`);
    const failed = { n, error: (e as Error).message, load: load() };
    results.push(failed);
    printResult(failed);
  }
}
out('');
out(`load average at end ${load()}`);
const measured = results.filter((r) => !('error' in r)).length;
out(
  measured === 0
    ? 'no N was measured (every scenario failed: see above)'
    : firstSlow === undefined
      ? 'municipal finality p99 stayed within 2 s at every N measured'
      : `municipal finality p99 first exceeds 2 s at N=${firstSlow}`,
);
// Every scenario's hosts are gone; nothing of this run should keep the process.
process.exit(results.some((r) => 'error' in r) ? 1 : 0);
