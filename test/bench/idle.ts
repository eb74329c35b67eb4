/**
 * `npm run bench:idle`: what a quiet consortium costs. Four authority processes started as
 * `npm start` starts them (`tillid network init` with throwaway keys in a temp dir, then one
 * `tillid node start` process per municipality), left alone once they have finalized, then
 * measured for --seconds (default 60): CPU seconds per node per minute (utime + stime, all
 * threads, from /proc), blocks made, and at the end RSS per node with where it goes: file-backed
 * (the node binary's pages, shared by the nodes of a host; PSS divides them among the nodes),
 * anonymous (the process's own), and of that the V8 heap (used, young generation, code space),
 * external memory (buffers, wasm) and the rest (malloc, thread stacks), plus the thread count
 * (main, V8's and libuv's pools, signature workers when running); from /proc/<pid>/status and
 * smaps_rollup, and the heap figures from each node's /metrics.
 *
 * The nodes are started once, left to finalize and stopped before the measured start: a node
 * that has run on a host before starts with Node.js's compile cache written (node/cli/node-flags.ts),
 * and every start but a host's very first is that one. `--cold` measures a first start instead
 * (the cache emptied first).
 *
 * Nodes run with the Node.js flags and environment `tillid network up` gives them (node/cli/node-flags.ts of the
 * checkout measured). The same run measures the code of an earlier commit as the baseline (--baseline REF, default
 * the last commit before the idle-cost work), exported with `git archive` into a temp dir that
 * borrows this checkout's node_modules, so both rows are this machine under the same load.
 * `--baseline none` skips it. The two networks run one after the other, never side by side.
 *
 *   npm run bench:idle [-- --seconds 60] [--baseline REF|none] [--cpu-prof DIR] [--clock accelerated] [--cold]
 *
 * `--cpu-prof DIR` starts every node with --cpu-prof and keeps the profiles (written when the
 * nodes stop) in DIR/<variant>. `--clock accelerated` gives both networks the development
 * business clock of `npm start` (one business day per block), where empty blocks are business time.
 *
 * It never hangs: every node process is killed on exit, on a signal or on an error, and the temp
 * directories removed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { COMPILE_CACHE } from '../../node/cli/node-flags.ts';
import { tempDirPlain } from './util.ts';
import { cpuSeconds, smapsMb, statusCount, statusMb } from './wan-proc.ts';

/** The last commit before the idle-cost work: its defaults are what "before" means. */
const BEFORE = '671abef';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    baseline: { type: 'string', default: BEFORE },
    'cpu-prof': { type: 'string' },
    clock: { type: 'string', default: 'block-time' },
    cold: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
if (!['block-time', 'accelerated'].includes(values.clock)) throw new Error('--clock block-time|accelerated');

const ROOT = resolve(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (text: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const children = new Set<ChildProcess>();
const temps: string[] = [];
const cleanUp = () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });

/** A checkout of `ref` beside this one, using this one's node_modules. */
function checkout(ref: string): string {
  const dir = tempDirPlain('tillid-bench-idle-src-');
  temps.push(dir);
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', ref], {
    maxBuffer: 512 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Whether `port` can be listened on now (on all interfaces, as the nodes' p2p listen). */
const portFree = (port: number) =>
  new Promise<boolean>((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '0.0.0.0', () => server.close(() => done(true)));
  });

/** A base port whose API ports (base..base+3) and p2p ports (base+100..base+103) are all free. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const ports = [0, 1, 2, 3, 100, 101, 102, 103].map((d) => base + d);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports found');
}

/** Per node, in MB unless named otherwise. */
interface Row {
  readonly variant: string;
  readonly cpuPerMinute: number[];
  readonly rssMb: number[];
  /** RSS backed by files (the node binary and libraries; shared by every node on a host). */
  readonly fileMb: number[];
  readonly pssMb: number[];
  readonly anonMb: number[];
  readonly heapTotalMb: number[];
  readonly heapMb: number[];
  readonly newSpaceMb: number[];
  readonly codeMb: number[];
  readonly externalMb: number[];
  readonly threads: number[];
  readonly blocks: number;
}

/** One gauge from a node's /metrics, in MB; `labels` picks one series (`space="code"`). */
const metricMb = (text: string, name: string, labels?: string) => {
  let sum = 0;
  const series = labels ? `\\{${labels}\\}` : '(?:\\{[^}]*\\})?';
  for (const m of text.matchAll(new RegExp(`^${name}${series} (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum / 1024 / 1024;
};

interface Network {
  readonly nodes: { child: ChildProcess; exited: Promise<void>; api: string }[];
  stop(): Promise<void>;
}

/** Starts one `tillid node start` per config, with the launch settings of that checkout. */
async function startNetwork(variant: string, source: string, configs: string[]): Promise<Network> {
  const cli = join(source, 'node', 'cli', 'tillid.ts');
  // The flags and environment `tillid network up` launches nodes with, in that checkout (none
  // before they existed).
  const flagsFile = join(source, 'node', 'cli', 'node-flags.ts');
  const launch = existsSync(flagsFile) ? await import(flagsFile) : {};
  const flags: readonly string[] = launch.NODE_FLAGS ?? [];
  const env: Record<string, string> = launch.NODE_ENV ?? {};
  const profDir = values['cpu-prof'] ? resolve(values['cpu-prof'], variant.replace(/\W+/g, '-')) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  let stopping = false;
  const nodes = configs.map((config) => {
    const child = spawn(
      process.execPath,
      [
        ...flags,
        ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
        cli,
        'node',
        'start',
        '--config',
        config,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], cwd: source, env: { ...process.env, ...env } },
    );
    children.add(child);
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    child.on('exit', (code, signal) => {
      if (children.delete(child) && !stopping) {
        log(`${variant}: a node exited (${signal ?? code}) during the run`);
        process.exit(1);
      }
    });
    return { child, exited, api: `http://127.0.0.1:${JSON.parse(readFileSync(config, 'utf8')).api.port}` };
  });
  const stop = async () => {
    stopping = true;
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.race([Promise.all(nodes.map((n) => n.exited)), sleep(15_000)]);
    for (const n of nodes) n.child.kill('SIGKILL');
  };
  return { nodes, stop };
}

const height = async (api: string) => {
  try {
    return ((await (await fetch(`${api}/v1/status`)).json()) as { height: number }).height;
  } catch {
    return -1;
  }
};

async function finalizing(variant: string, network: Network): Promise<void> {
  const started = performance.now();
  for (;;) {
    const h = await Promise.all(network.nodes.map((n) => height(n.api)));
    if (h.every((x) => x >= 1)) return;
    if (performance.now() - started > 120_000)
      throw new Error(`${variant}: the network does not finalize: ${h}`);
    await sleep(200);
  }
}

async function measure(variant: string, source: string, index: number): Promise<Row> {
  const dir = tempDirPlain(`tillid-bench-idle-${index}-`);
  temps.push(dir);
  const base = await freeBasePort();
  const municipalities = ['Høje-Taastrup Kommune:29189846', 'Albertslund Kommune:11111111'].concat(
    'Ballerup Kommune:22222222',
    'Glostrup Kommune:33333333',
  );
  execFileSync(
    process.execPath,
    [
      join(source, 'node', 'cli', 'tillid.ts'),
      'network',
      'init',
      '--out',
      dir,
      '--chain-id',
      'tillid-local',
      '--base-port',
      String(base),
      ...municipalities.flatMap((m) => ['--municipality', m]),
      ...(values.clock === 'accelerated' ? ['--business-days-per-block', '1'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const configs = readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'config.json')))
    .sort()
    .map((d) => join(dir, d, 'config.json'));
  if (!values.cold) {
    // The start before: as on a host where the nodes have run (they write the compile cache).
    const first = await startNetwork(variant, source, configs);
    await finalizing(variant, first);
    await first.stop();
  }
  const network = await startNetwork(variant, source, configs);
  await finalizing(variant, network);
  const { nodes } = network;
  const heights = () => Promise.all(nodes.map((n) => height(n.api)));
  // Start-up (JIT, dialling, identify) is not idling: let it settle first.
  await sleep(10_000);
  const pids = nodes.map((n) => n.child.pid as number);
  const before = pids.map(cpuSeconds);
  const h0 = Math.min(...(await heights()));
  log(
    `${variant}: four nodes finalizing (height ${h0}); leaving them alone for ${seconds} s; load ${load()}`,
  );
  await sleep(seconds * 1000);
  const cpu = pids.map((pid, i) => ((cpuSeconds(pid) - (before[i] as number)) * 60) / seconds);
  const row = {
    rssMb: pids.map((pid) => statusMb(pid, 'VmRSS')),
    fileMb: pids.map((pid) => statusMb(pid, 'RssFile')),
    pssMb: pids.map((pid) => smapsMb(pid, 'Pss')),
    anonMb: pids.map((pid) => smapsMb(pid, 'Anonymous')),
    threads: pids.map((pid) => statusCount(pid, 'Threads')),
  };
  const h1 = Math.max(...(await heights()));
  const metrics = await Promise.all(nodes.map(async (n) => (await fetch(`${n.api}/metrics`)).text()));
  await network.stop();
  const space = (name: string) =>
    metrics.map((m) => metricMb(m, 'tillid_nodejs_heap_space_size_total_bytes', `space="${name}"`));
  return {
    variant,
    cpuPerMinute: cpu,
    ...row,
    heapTotalMb: metrics.map((m) => metricMb(m, 'tillid_nodejs_heap_size_total_bytes')),
    heapMb: metrics.map((m) => metricMb(m, 'tillid_nodejs_heap_size_used_bytes')),
    newSpaceMb: space('new'),
    codeMb: space('code'),
    externalMb: metrics.map((m) => metricMb(m, 'tillid_nodejs_external_memory_bytes')),
    blocks: h1 - h0,
  };
}

if (values.cold) rmSync(COMPILE_CACHE, { recursive: true, force: true });
const variants: [string, string][] = [['this checkout', ROOT]];
if (values.baseline !== 'none') variants.push([`baseline ${values.baseline}`, checkout(values.baseline)]);
const rows: Row[] = [];
for (const [i, [name, source]] of variants.entries()) rows.push(await measure(name, source, i));

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: readonly number[], digits = 0) => `${xs.map((x) => x.toFixed(digits)).join(' / ')}`;
const line = (label: string, xs: readonly number[], note = '', digits = 0) =>
  console.log(`  ${label.padEnd(27)}${fmt(xs, digits)}  (mean ${mean(xs).toFixed(digits)})${note}`);
console.log(
  `\nidle: 4 authorities (${values.clock} clock, ${values.cold ? 'first start: no compile cache' : 'a start after the first'}), ${seconds} s alone after finalizing; load average now ${load()}`,
);
for (const r of rows) {
  const zip = (a: number[], b: number[], c: number[]) =>
    a.map((x, i) => x - (b[i] as number) - (c[i] as number));
  console.log(`${r.variant}:`);
  line('CPU s per node per minute', r.cpuPerMinute, '', 2);
  line('RSS MB per node', r.rssMb);
  line('  file-backed MB', r.fileMb, '  the node binary: shared by the nodes of a host');
  line('  PSS MB', r.pssMb, '  RSS with shared pages divided among the processes');
  line('  anonymous MB', r.anonMb, "  the process's own");
  line('    V8 heap MB', r.heapTotalMb);
  line('      used MB', r.heapMb);
  line('      young generation MB', r.newSpaceMb);
  line('      code space MB', r.codeMb);
  line('    external MB', r.externalMb, '  buffers, wasm');
  line(
    '    rest MB',
    zip(r.anonMb, r.heapTotalMb, r.externalMb),
    '  malloc, thread stacks, V8 outside its heap',
  );
  line('threads', r.threads);
  console.log(`  blocks while idle            ${r.blocks}`);
}
const [now, then] = rows;
if (now && then) {
  console.log(
    `ratio this/baseline: CPU ${(mean(now.cpuPerMinute) / mean(then.cpuPerMinute)).toFixed(2)}, ` +
      `RSS ${(mean(now.rssMb) / mean(then.rssMb)).toFixed(2)}`,
  );
}
