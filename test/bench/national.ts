/**
 * `npm run bench:national`: a year of the national workload model (test/bench/national/
 * assumptions.json, deploy/national-model.md) on real networks of node processes, per topology,
 * and what it costs a municipality per year in CPU hours, memory, disk, bandwidth and kroner.
 *
 *   npm run bench:national -- [--scale 0.01] [--federated 4,7] [--no-local] [--no-gateway] [--gateway-calls 400]
 *                             [--out FILE] [--from FILE,…]
 *                             [--block-interval-ms 250] [--read-sample 200] [--idle-seconds 30] [--no-write]
 *
 * --scale is the fraction of the country's placed children the run carries (0.01: 125 children,
 * about 2,200 transactions and 2,700 payment decisions); 1 runs the whole country. Each topology
 * plays the same year on the accelerated business clock, one business day per block
 * (national/run.ts says how the year is cut into measured windows):
 *   local         one node, a single-authority chain;
 *   federated-N   N authority processes (one per municipality), for each N in --federated.
 * 98 node processes do not fit two cores, so federated-98 is projected: per-block and background
 * costs on a straight line through the federated sizes measured, per-transaction costs as the
 * largest size measured. central is the operator's 4 shared nodes, i.e. the federated-4 run, and
 * the gateway in front of them (measured on its own process, national/gateway.ts; --no-gateway
 * leaves it out, --gateway-calls sets its windows), shared among the 98 municipalities by
 * population.
 *
 * Printed and written to deploy/national.json (unless --no-write): per-node unit costs measured
 * for each topology (CPU ms per block and per transaction of each class, bytes sent, disk, RSS),
 * then per municipality of each size class per year: CPU hours, peak RSS, disk growth, bytes sent
 * and kroner (prices in the assumptions). The load average is printed at the start and the end:
 * CPU seconds are what a process used, but a loaded machine stretches blocks and windows.
 *
 * Never hangs or leaves processes: every wait is bounded, --timeout (default 1800 s) ends the run,
 * and every node process is killed on exit or on a signal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NodeProcess } from '../fixtures/processes.ts';
import {
  diskPerItemOf,
  type GatewayUnits,
  perMunicipality,
  projectTo,
  type Units,
  unitsOf,
} from './national/cost.ts';
import { measureGateway } from './national/gateway.ts';
import { CLASSES, loadAssumptions, municipalityCount } from './national/model.ts';
import { runTopology, type TopologyRun } from './national/run.ts';
import { verifyBaseline } from './util.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '0.01' },
    federated: { type: 'string', default: '4,7' },
    'no-local': { type: 'boolean', default: false },
    'no-gateway': { type: 'boolean', default: false },
    'gateway-calls': { type: 'string', default: '400' },
    'block-interval-ms': { type: 'string', default: '250' },
    'read-sample': { type: 'string', default: '200' },
    'idle-seconds': { type: 'string', default: '30' },
    timeout: { type: 'string', default: '1800' },
    'no-write': { type: 'boolean', default: false },
    from: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, '..', '..', 'deploy', 'national.json') },
  },
});
const a = loadAssumptions();
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be above 0 and at most 1');
const federatedSizes = (values.federated as string)
  .split(',')
  .filter(Boolean)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n >= 2);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const t0 = performance.now();
const log = (line: string) =>
  console.error(
    `[${new Date().toISOString().slice(11, 19)} +${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}`,
  );

const started = new Set<NodeProcess>();
const killAll = () => {
  for (const n of started)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
setTimeout(() => {
  console.error(`bench:national: overall timeout of ${values.timeout} s; killing the nodes`);
  killAll();
  process.exit(2);
}, Number(values.timeout) * 1000).unref();

interface Measured {
  measuredAt: string;
  baseline: number;
  loadStart: string;
  loadEnd: string;
  children: number;
  scale: number;
  blockIntervalMs: number;
  runs: TopologyRun[];
  failed: { topology: string; error: string }[];
  /** central's gateway, measured on its own in front of four nodes (absent with --no-gateway). */
  gateway?: GatewayUnits;
}

/**
 * Saved runs, several files joined (e.g. a federated size measured on its own): the first file's
 * header, every file's runs, units and failures (a failure another file measured is dropped).
 */
function mergeSaved(files: string[]) {
  const all = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const first = all[0];
  const runs = all.flatMap((x) => x.runs);
  const measured = new Set(runs.map((r: { topology: string }) => r.topology));
  return {
    ...first,
    runs,
    units: all.flatMap((x) => x.units),
    gateway: all.find((x) => x.gateway)?.gateway,
    failed: all.flatMap((x) => x.failed ?? []).filter((f: { topology: string }) => !measured.has(f.topology)),
  };
}

async function measure(): Promise<Measured> {
  const baseline = verifyBaseline();
  const loadStart = load();
  const children = Math.max(4, Math.round(a.childrenPlacedNationally * scale));
  log(
    `baseline: Ed25519 verify ${baseline.toFixed(0)}/s on one core; load average ${loadStart}; ${children} children`,
  );
  const options = {
    assumptions: a,
    children,
    blockIntervalMs: Number(values['block-interval-ms']),
    readSample: Number(values['read-sample']),
    idleSeconds: Number(values['idle-seconds']),
    log,
    started,
  };
  const runs: TopologyRun[] = [];
  const failed: { topology: string; error: string }[] = [];
  const topologies: [string, number][] = [
    ...(values['no-local'] ? [] : ([['local', 1]] as [string, number][])),
    ...federatedSizes.map((n) => [`federated-${n}`, n] as [string, number]),
  ];
  for (const [k, [name, n]] of topologies.entries()) {
    const basePort = 33_000 + (process.pid % 300) * 40 + k * 10;
    try {
      const r = await runTopology(name, n, { ...options, basePort });
      runs.push(r);
      log(
        `${name}: year of ${r.yearBlocks} blocks in ${r.yearSeconds.toFixed(0)} s; ${r.decisionsMade} decisions`,
      );
    } catch (e) {
      // A topology that cannot finish its year on this machine (a bounded wait ran out) does not
      // cost the others' figures; it is reported as failed, with why.
      failed.push({ topology: name, error: (e as Error).message });
      log(`${name}: FAILED — ${(e as Error).message}`);
    }
  }
  let gateway: GatewayUnits | undefined;
  if (!values['no-gateway'])
    try {
      gateway = await measureGateway({
        count: Number(values['gateway-calls']),
        idleSeconds: options.idleSeconds,
        basePort: 33_000 + (process.pid % 300) * 40 + topologies.length * 10,
        log,
        started,
      });
    } catch (e) {
      failed.push({ topology: 'central gateway', error: (e as Error).message });
      log(`central gateway: FAILED — ${(e as Error).message}`);
    }
  if (runs.length === 0 && !gateway) throw new Error('no topology finished its year');
  const loadEnd = load();
  return {
    measuredAt: new Date().toISOString(),
    baseline,
    loadStart,
    loadEnd,
    children,
    scale,
    blockIntervalMs: options.blockIntervalMs,
    runs,
    failed,
    ...(gateway ? { gateway } : {}),
  };
}

// --from FILE: the report again from a earlier run's deploy/national.json (new prices or
// assumptions, no new measurement); the year's windows are not kept there, the units are.
const saved = values.from ? mergeSaved(values.from.split(',')) : undefined;
const m: Measured = saved
  ? {
      ...saved,
      baseline: saved.baselineVerifyPerSecond,
      loadStart: saved.loadAverage.start,
      loadEnd: saved.loadAverage.end,
    }
  : await measure();
const { baseline, loadStart, loadEnd, children, runs, failed, gateway } = m;
const units: Units[] = saved
  ? (saved.units as Units[]).map((u, i) => ({ ...u, diskPerItem: diskPerItemOf(saved.runs[i]) }))
  : runs.map(unitsOf);

// ---- per-node unit costs, as measured ------------------------------------------------------------
const ms = (s: number) => (s * 1000).toFixed(2);
console.log(
  `\nbench:national — ${children} children (${m.scale} of ${a.childrenPlacedNationally}), ${cpus().length} cores`,
);
console.log(
  `load average at start ${loadStart}, at end ${loadEnd}; Ed25519 verify baseline ${baseline.toFixed(0)}/s\n`,
);
for (const f of failed) console.log(`${f.topology}: did not finish its year (${f.error})\n`);
console.log('Per node, measured (single box: every node of a run shares these cores):\n');
console.log(
  `| topology | CPU ms per block | bytes sent per block | disk bytes per item (all-in) | ${CLASSES.map((k) => `CPU ms per ${k}`).join(' | ')} | bytes sent per tx (create, report, anchor) | background CPU s per hour | RSS idle / peak MB |`,
);
console.log(`|---|---|---|---|${CLASSES.map(() => '---|').join('')}---|---|---|`);
for (const u of units) {
  const bytes = (['create', 'report', 'anchor'] as const)
    .map((k) => u.perClass[k].bytesSent.toFixed(0))
    .join(', ');
  console.log(
    `| ${u.topology} | ${ms(u.block.cpuSeconds)} | ${u.block.bytesSent.toFixed(0)} | ${u.diskPerItem.toFixed(0)} | ${CLASSES.map((k) => ms(u.perClass[k].cpuSeconds)).join(' | ')} | ${bytes} | ${(u.background.cpuSeconds * 3600).toFixed(1)} | ${u.background.rssMb.toFixed(0)} / ${u.peakRssMb.toFixed(0)} |`,
  );
}

// ---- a municipality's year ------------------------------------------------------------------------
const federated = units.filter((u) => u.topology.startsWith('federated-'));
const local = units.find((u) => u.topology === 'local');
const n = municipalityCount(a);
const projected = federated.length ? projectTo(federated, n) : undefined;
const central = federated.find((u) => u.authorities === 4);
const tables: Record<string, ReturnType<typeof perMunicipality>> = {};
if (local) tables.local = perMunicipality(a, 'local', local);
// Each federated size as measured: a node of an N-authority network carrying the country's chain
// (also what an authority of a hybrid network with N authorities runs).
for (const u of federated)
  tables[`${u.topology} (as measured, the country's chain)`] = perMunicipality(a, 'federated', u);
if (projected)
  tables[
    `federated-${n}${projected.projected ? ` (projected: per-block and background on the straight line through federated-${federated.map((u) => u.authorities).join(', ')})` : ` (as measured at ${federated.at(-1)?.authorities})`}`
  ] = perMunicipality(a, 'federated', projected as Units);
if (central)
  tables[
    gateway ? 'central (4 shared nodes + the gateway)' : 'central (4 shared nodes, gateway not measured)'
  ] = perMunicipality(a, 'central', central, 4, gateway);
if (gateway) {
  const g = gateway;
  console.log(
    `\ncentral's gateway (its own process, in front of 4 nodes; ${g.calls} calls a window): background ${(g.background.cpuSeconds * 3600).toFixed(1)} CPU s per hour, ${((g.background.bytesSent * 3600) / 1e6).toFixed(2)} MB sent per hour; per submission ${ms(g.perSubmission.cpuSeconds)} CPU ms, ${g.perSubmission.bytesSent.toFixed(0)} bytes sent, ${g.perSubmission.diskBytes.toFixed(0)} bytes of logs; per read ${ms(g.perRead.cpuSeconds)} CPU ms, ${g.perRead.bytesSent.toFixed(0)} bytes sent, ${g.perRead.diskBytes.toFixed(0)} bytes of logs; RSS idle / peak ${g.background.rssMb.toFixed(0)} / ${g.peakRssMb.toFixed(0)} MB`,
  );
}
for (const [name, rows] of Object.entries(tables)) {
  console.log(`\nPer municipality per year — ${name}:\n`);
  console.log(
    '| size class | inhabitants | children | transactions | CPU hours | peak RSS MB per node | disk growth MB | bytes sent GB | kr by use | kr on minimum host | of which the gateway: CPU h / disk MB / GB sent |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.sizeClass} | ${r.population} | ${r.children.toFixed(0)} | ${r.submitted.toFixed(0)} | ${r.cpuHours.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${(r.diskGb * 1000).toFixed(1)} | ${r.egressGb.toFixed(2)} | ${r.kroner.byUse.toFixed(0)} | ${r.kroner.onMinimumHost.toFixed(0)} | ${r.gateway ? `${r.gateway.cpuHours.toFixed(2)} / ${(r.gateway.diskGb * 1000).toFixed(1)} / ${r.gateway.egressGb.toFixed(3)}` : '–'} |`,
    );
}
if (!values['no-write']) {
  const file = values.out as string;
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        measuredAt: m.measuredAt,
        cores: cpus().length,
        loadAverage: { start: loadStart, end: loadEnd },
        baselineVerifyPerSecond: Math.round(baseline),
        scale: m.scale,
        children,
        blockIntervalMs: m.blockIntervalMs,
        runs: runs.map((r) => ({
          ...r,
          windows: undefined,
          windowCount: r.windows ? r.windows.length : (r as { windowCount?: number }).windowCount,
        })),
        failed,
        units,
        ...(gateway ? { gateway } : {}),
        perMunicipality: tables,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${file}`);
}
