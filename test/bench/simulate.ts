/**
 * `npm run bench:consensus [-- --seeds N]`
 *
 * 1. Runs the simulator's property check (safety, liveness after GST, crash recovery, evidence)
 *    over N seeds with one equivocating authority out of four and a crash-restart, plus one seed
 *    in six with seven authorities and two equivocators. Exits non-zero on any failure.
 * 2. Runs the named fault scenarios (test/sim/faults.ts: uneven splits healed after rounds
 *    diverged, all restarted, an empty data directory, clock skew, long asynchrony, one authority
 *    down for good) over --fault-seeds seeds each, with production timeouts: property violations
 *    (0 conflicting finalizations, nobody signing twice), and the time from the last fault healing
 *    to the next decision at every node, p50 / p99 / max, in virtual time.
 * 3. Projects the consortium at 4, 16, 49 and 98 authorities on a clean 10 ms network: messages
 *    and bytes each node sends per finalized block, and simulated time to finality.
 *
 * Everything runs on a virtual clock; wall-clock time only measures how long simulating takes.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TIMEOUTS } from '../../node/consensus/tendermint/engine.ts';
import { FAULT_SCENARIOS, recoveryMs } from '../sim/faults.ts';
import { checkSeed, propertyViolations } from '../sim/scenario.ts';
import { type SimulationResult, simulate } from '../sim/simulator.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    sizes: { type: 'string', default: '4,16,49,98' },
    'fault-seeds': { type: 'string', default: '50' },
  },
});
const seeds = Number(values.seeds);
if (!Number.isSafeInteger(seeds) || seeds < 0) throw new Error('--seeds must be a whole number');

// ---- 1. properties over seeds -------------------------------------------------------------------
const started = performance.now();
const failures: string[] = [];
let runs = 0;
for (let seed = 1; seed <= seeds; seed++) {
  const scenarios = [{ authorities: 4, byzantine: 1, crash: true }];
  if (seed % 6 === 0) scenarios.push({ authorities: 7, byzantine: 2, crash: true });
  for (const options of scenarios) {
    runs++;
    const { problems } = await checkSeed(seed, options);
    for (const p of problems) failures.push(`seed ${seed} (n=${options.authorities}): ${p}`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const failedRuns = new Set(failures.map((f) => f.split(':')[0])).size;
console.log(`property check: ${runs - failedRuns}/${runs} runs passed over ${seeds} seeds (${seconds} s)`);
if (failures.length > 0) {
  for (const f of failures) console.error(`  FAIL ${f}`);
  console.error('replay one with: checkSeed(seed, options) from test/sim/scenario.ts');
  process.exitCode = 1;
}

// ---- 2. fault scenarios ------------------------------------------------------------------------
const faultSeeds = Number(values['fault-seeds']);
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const faultRows: string[][] = [];
const allRecoveries: number[] = [];
const faultStarted = performance.now();
for (const build of FAULT_SCENARIOS) {
  const recoveries: number[] = [];
  let violations = 0;
  let name = '';
  let missed = 0;
  let decisions = 0;
  const perHeight: number[] = [];
  for (let seed = 1; seed <= faultSeeds; seed++) {
    const scenario = build(seed);
    name = scenario.name;
    const result = await simulate(scenario.config);
    const problems = propertyViolations(result);
    violations += problems.length;
    for (const p of problems) failures.push(`${name} seed ${seed}: ${p}`);
    recoveries.push(recoveryMs(result, scenario.healAt));
    const top = Math.max(...result.nodes.map((n) => n.height));
    const firstNode = result.nodes.find((n) => n.height === top);
    if (firstNode && top > 1)
      perHeight.push(
        ((firstNode.committedAt.get(top) ?? 0) - (firstNode.committedAt.get(1) ?? 0)) / (top - 1),
      );
    for (const node of result.nodes) {
      decisions += node.decidedRounds.length;
      for (const count of node.missedProposals.values()) missed += count;
    }
  }
  recoveries.sort((a, b) => a - b);
  allRecoveries.push(...recoveries);
  faultRows.push([
    name,
    String(faultSeeds),
    String(violations),
    percentile(recoveries, 50).toFixed(0),
    percentile(recoveries, 99).toFixed(0),
    (recoveries.at(-1) ?? Number.NaN).toFixed(0),
    decisions ? ((100 * missed) / decisions).toFixed(1) : '0',
    (perHeight.reduce((a, b) => a + b, 0) / Math.max(1, perHeight.length)).toFixed(0),
  ]);
}
allRecoveries.sort((a, b) => a - b);
faultRows.push([
  'all',
  String(faultSeeds * FAULT_SCENARIOS.length),
  faultRows.reduce((n, r) => n + Number(r[2]), 0).toString(),
  percentile(allRecoveries, 50).toFixed(0),
  percentile(allRecoveries, 99).toFixed(0),
  (allRecoveries.at(-1) ?? Number.NaN).toFixed(0),
  '',
  '',
]);
{
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
      `time from the last heal to the next decision at every node (virtual; ${((performance.now() - faultStarted) / 1000).toFixed(0)} s wall):`,
  );
  console.log(line(header));
  for (const r of faultRows) console.log(line(r));
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
for (const n of values.sizes.split(',').map(Number)) {
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
