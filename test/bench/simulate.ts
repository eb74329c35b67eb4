/**
 * `npm run bench:consensus [-- --seeds N] [--fault-seeds M] [--workers W] [--sizes 4,16,49,98]
 *  [--scenarios 'empty data dir,vote log lost']` (only the named fault scenarios; `--seeds 0` skips
 *  the property runs and `--sizes ''` the projection)
 *
 * Every run below drives the shared consensus host (node/consensus/host.ts, the one production
 * runs) in the simulator (test/sim/), on a virtual clock. By default over 10,000 runs (5,833
 * property runs and 560 per fault scenario):
 *
 * 1. The property check (safety, liveness after GST, crash recovery, evidence) over N seeds
 *    (default 5,000) with one equivocating authority out of four and a crash-restart, plus one
 *    seed in six with seven authorities and two equivocators.
 * 2. The named fault scenarios (test/sim/faults.ts: uneven splits healed after rounds diverged,
 *    all restarted, an empty data directory, clock skew, long asynchrony, one authority down for
 *    good) over M seeds each (default 560), with production timeouts: property violations (0
 *    conflicting finalizations, nobody signing twice), and the time from the last fault healing
 *    to the next decision at every node, p50 / p99 / max, in virtual time. Target: max ≤ 30 s.
 * 3. Projects the consortium at 4, 16, 49 and 98 authorities on a clean 10 ms network: messages
 *    and bytes each node sends per finalized block, and simulated time to finality.
 *
 * Runs 1 and 2 are spread over W worker threads (default: one per CPU); each run is a pure
 * function of its seed, so the result does not depend on W. Exits non-zero on any violation or a
 * missed recovery target. Wall-clock time only says how long simulating took.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DEFAULT_TIMEOUTS } from '../../node/consensus/tendermint/engine.ts';
import { FAULT_SCENARIOS, recoveryMs } from '../sim/faults.ts';
import { checkSeed, propertyViolations } from '../sim/scenario.ts';
import { type SimulationResult, simulate } from '../sim/simulator.ts';

type Job =
  | { readonly kind: 'property'; readonly seed: number; readonly authorities: 4 | 7 }
  | { readonly kind: 'fault'; readonly scenario: number; readonly seed: number };

interface Outcome {
  readonly job: Job;
  readonly problems: string[];
  /** Fault runs only. */
  readonly name?: string;
  readonly recovery?: number;
  readonly msPerHeight?: number;
  readonly decisions?: number;
  readonly missed?: number;
}

async function runJob(job: Job): Promise<Outcome> {
  if (job.kind === 'property') {
    const { problems } = await checkSeed(job.seed, {
      authorities: job.authorities,
      byzantine: job.authorities === 4 ? 1 : 2,
      crash: true,
    });
    return { job, problems };
  }
  const build = FAULT_SCENARIOS[job.scenario];
  if (!build) throw new RangeError(`no fault scenario ${job.scenario}`);
  const scenario = build(job.seed);
  const result = await simulate(scenario.config);
  const top = Math.max(...result.nodes.map((n) => n.height));
  const firstNode = result.nodes.find((n) => n.height === top);
  let decisions = 0;
  let missed = 0;
  for (const node of result.nodes) {
    decisions += node.decidedRounds.length;
    for (const count of node.missedProposals.values()) missed += count;
  }
  return {
    job,
    problems: propertyViolations(result),
    name: scenario.name,
    recovery: recoveryMs(result, scenario.healAt),
    ...(firstNode && top > 1
      ? {
          msPerHeight:
            ((firstNode.committedAt.get(top) ?? 0) - (firstNode.committedAt.get(1) ?? 0)) / (top - 1),
        }
      : {}),
    decisions,
    missed,
  };
}

if (!isMainThread) {
  // A worker: run the jobs it was given, one outcome message each.
  for (const job of workerData as Job[]) parentPort?.postMessage(await runJob(job));
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5000' },
    sizes: { type: 'string', default: '4,16,49,98' },
    'fault-seeds': { type: 'string', default: '560' },
    workers: { type: 'string', default: String(availableParallelism()) },
    scenarios: { type: 'string' },
  },
});
const seeds = Number(values.seeds);
const faultSeeds = Number(values['fault-seeds']);
const workers = Number(values.workers);
for (const [flag, n] of [
  ['--seeds', seeds],
  ['--fault-seeds', faultSeeds],
  ['--workers', workers],
] as const)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} must be a whole number`);

// ---- 1 and 2: every seeded run, over worker threads ---------------------------------------------
const jobs: Job[] = [];
for (let seed = 1; seed <= seeds; seed++) {
  jobs.push({ kind: 'property', seed, authorities: 4 });
  if (seed % 6 === 0) jobs.push({ kind: 'property', seed, authorities: 7 });
}
const scenarioNames = FAULT_SCENARIOS.map((build) => build(1).name);
const only = values.scenarios?.split(',').map((name) => name.trim());
for (const name of only ?? [])
  if (!scenarioNames.includes(name)) throw new Error(`no fault scenario "${name}"`);
for (let scenario = 0; scenario < FAULT_SCENARIOS.length; scenario++) {
  if (only && !only.includes(scenarioNames[scenario] as string)) continue;
  for (let seed = 1; seed <= faultSeeds; seed++) jobs.push({ kind: 'fault', scenario, seed });
}

const started = performance.now();
const outcomes: Outcome[] = [];
let lastReport = started;
const threads = Math.max(1, Math.min(workers, jobs.length));
await Promise.all(
  Array.from(
    { length: jobs.length === 0 ? 0 : threads },
    (_, w) =>
      new Promise<void>((done, fail) => {
        // Interleaved, so every worker gets a share of the slow scenarios.
        const share = jobs.filter((_, i) => i % threads === w);
        const worker = new Worker(new URL(import.meta.url), { workerData: share });
        worker.on('message', (outcome: Outcome) => {
          outcomes.push(outcome);
          if (performance.now() - lastReport > 30_000) {
            lastReport = performance.now();
            console.error(
              `  ${outcomes.length}/${jobs.length} runs (${((lastReport - started) / 1000).toFixed(0)} s)`,
            );
          }
        });
        worker.once('error', fail);
        worker.once('exit', (code) =>
          code === 0 ? done() : fail(new Error(`a simulation worker exited with ${code}`)),
        );
      }),
  ),
);
const wall = (performance.now() - started) / 1000;

const failures: string[] = [];
const property = outcomes.filter((o) => o.job.kind === 'property');
const label = (job: Job) =>
  job.kind === 'property' ? `seed ${job.seed} (n=${job.authorities})` : `seed ${job.seed}`;
let failedRuns = 0;
for (const o of property) {
  if (o.problems.length > 0) failedRuns++;
  for (const p of o.problems) failures.push(`${label(o.job)}: ${p}`);
}
console.log(
  `${outcomes.length} simulated runs of the shared consensus host in ${wall.toFixed(0)} s wall on ${threads} worker threads`,
);
console.log(
  `property check: ${property.length - failedRuns}/${property.length} runs passed over ${seeds} seeds`,
);
if (failedRuns > 0) {
  for (const f of failures) console.error(`  FAIL ${f}`);
  console.error('replay one with: checkSeed(seed, options) from test/sim/scenario.ts');
  process.exitCode = 1;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const faultRows: string[][] = [];
const allRecoveries: number[] = [];
let worst: { name: string; seed: number; recovery: number } | undefined;
for (let scenario = 0; scenario < FAULT_SCENARIOS.length; scenario++) {
  const runs = outcomes.filter((o) => o.job.kind === 'fault' && o.job.scenario === scenario);
  if (runs.length === 0) continue;
  const name = runs[0]?.name ?? '';
  let violations = 0;
  for (const o of runs) {
    violations += o.problems.length;
    for (const p of o.problems) failures.push(`${name} seed ${o.job.seed}: ${p}`);
    const r = o.recovery ?? Number.POSITIVE_INFINITY;
    if (!worst || r > worst.recovery) worst = { name, seed: o.job.seed, recovery: r };
  }
  const recoveries = runs.map((o) => o.recovery ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  allRecoveries.push(...recoveries);
  const perHeight = runs.flatMap((o) => (o.msPerHeight === undefined ? [] : [o.msPerHeight]));
  const decisions = runs.reduce((n, o) => n + (o.decisions ?? 0), 0);
  const missed = runs.reduce((n, o) => n + (o.missed ?? 0), 0);
  faultRows.push([
    name,
    String(runs.length),
    String(violations),
    percentile(recoveries, 50).toFixed(0),
    percentile(recoveries, 99).toFixed(0),
    (recoveries.at(-1) ?? Number.NaN).toFixed(0),
    decisions ? ((100 * missed) / decisions).toFixed(1) : '0',
    (perHeight.reduce((a, b) => a + b, 0) / Math.max(1, perHeight.length)).toFixed(0),
  ]);
}
if (faultRows.length > 0) {
  allRecoveries.sort((a, b) => a - b);
  faultRows.push([
    'all',
    String(allRecoveries.length),
    faultRows.reduce((n, r) => n + Number(r[2]), 0).toString(),
    percentile(allRecoveries, 50).toFixed(0),
    percentile(allRecoveries, 99).toFixed(0),
    (allRecoveries.at(-1) ?? Number.NaN).toFixed(0),
    '',
    '',
  ]);
  const header = [
    'scenario',
    'seeds',
    'violations',
    'recovery p50 ms',
    'p99 ms',
    'max ms',
    'missed proposals %',
    'ms/height (mean)',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...faultRows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(
    `\nfault scenarios, production timeouts (propose ${DEFAULT_TIMEOUTS.propose.baseMs} ms at round 0), ` +
      'time from the last heal to the next decision at every node (virtual):',
  );
  console.log(line(header));
  for (const r of faultRows) console.log(line(r));
  if (worst)
    console.log(`slowest recovery: ${worst.name}, seed ${worst.seed}: ${worst.recovery.toFixed(0)} ms`);
  if (
    faultRows.some((r) => Number(r[2]) > 0) ||
    !(allRecoveries.at(-1) !== undefined && (allRecoveries.at(-1) as number) <= 30_000)
  ) {
    for (const f of failures) console.error(`  FAIL ${f}`);
    process.exitCode = 1;
  }
}

// ---- 3. scaling ---------------------------------------------------------------------------------
const heightsFor = (n: number) => (n <= 16 ? 20 : n <= 49 ? 6 : 4);

async function project(n: number): Promise<SimulationResult> {
  const target = heightsFor(n);
  return simulate({
    seed: 1,
    authorities: n,
    network: { latencyMs: 10, jitterMs: 0, dropRate: 0, duplicateRate: 0 },
    gstMs: 0,
    transactions: { count: 4 * target, fromMs: 0, toMs: 50 * target },
    blockIntervalMs: 0,
    timeouts: DEFAULT_TIMEOUTS,
    maxTimeMs: 120_000,
    until: (view) => view.nodes.every((node) => node.height >= target),
  });
}

const mean = (xs: readonly number[]) =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
const rows: string[][] = [];
for (const n of values.sizes
  .split(',')
  .filter((size) => size !== '')
  .map(Number)) {
  const t0 = performance.now();
  const result = await project(n);
  const wall = (performance.now() - t0) / 1000;
  if (!result.stoppedEarly) {
    console.error(`n=${n}: did not reach height ${heightsFor(n)} by ${result.config.maxTimeMs} ms (stalled)`);
    process.exitCode = 1;
  }
  const blocks = Math.min(...result.nodes.map((node) => node.height));
  const perNode = result.nodes.map((node) => ({
    messages: node.consensus.messages / node.height,
    bytes: node.consensus.bytes / node.height,
  }));
  const finality = result.nodes.flatMap((node) => node.finalityMs);
  const txLatency = result.transactions.flatMap((t) =>
    t.firstFinalAt === undefined ? [] : [t.firstFinalAt - t.submittedAt],
  );
  rows.push([
    String(n),
    String(blocks),
    mean(perNode.map((p) => p.messages)).toFixed(0),
    (mean(perNode.map((p) => p.bytes)) / 1024).toFixed(1),
    mean(finality).toFixed(0),
    Math.max(...finality).toFixed(0),
    mean(txLatency).toFixed(0),
    wall.toFixed(1),
  ]);
}

const header = [
  'authorities',
  'blocks',
  'msgs/block/node',
  'KiB/block/node',
  'finality ms (mean)',
  'finality ms (max)',
  'tx submit→final ms',
  'wall s',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
console.log('\nscaling on a 10 ms network (consensus traffic only; virtual time):');
console.log(line(header));
for (const r of rows) console.log(line(r));
