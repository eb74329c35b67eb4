/**
 * `npm run bench:network`: a consortium of N authority processes on this machine, each started by
 * the real CLI (`tillid network init`, then `tillid node start` per municipality), talking real
 * libp2p to each other. This process pre-signs anchors (timed separately, before the nodes start,
 * on worker threads), submits them over HTTP spread round-robin across every node, and follows
 * finality on node 1 by walking its blocks (GET /v1/blocks/:height).
 *
 *   npm run bench:network -- --authorities 4 [--duration 60] [--rate 1000] [--batch 500]
 *
 * Phase A, sustained throughput: for --duration seconds, batches of --batch pre-signed anchors
 * (POST /v1/transactions/batch) go round-robin to the nodes, at most --concurrency requests
 * outstanding per node, and never more than --max-pending transactions submitted but not yet
 * final (in flight included), so the mempools hold a few blocks' worth rather than the whole run.
 * Items a node refuses with MEMPOOL_FULL are queued again and that sender backs off. Reported:
 * transactions finalized inside the window divided by the window's length. The default cap, 1000
 * (two batches), measured best here: the nodes are CPU-bound at a few hundred tx/s, and a deeper
 * backlog (4000, 15000) only lengthens blocks and, past a few thousand, stalls consensus for
 * seconds at a time (votes queue behind gossip work), which lowers throughput.
 *
 * Phase B, latency at a fixed offered load: --rate tx/s for --latency-duration seconds, open loop
 * (requests leave on schedule whether or not earlier ones have returned). Chosen request shape:
 * small batches of --latency-batch (default 10, i.e. one request every 10 ms at 1000 tx/s) sent
 * round-robin to the nodes. That is how a municipality's gateway would forward bursts, and it keeps
 * the load generator's own HTTP cost (which shares the CPUs with the nodes) low; each transaction's
 * clock starts when its request is sent, so batching hides no delay. `--latency-batch 1` sends
 * single-transaction POSTs to /v1/transactions instead. Latency is submission to the moment this
 * process sees the block holding the transaction on node 1; one never finalized counts as
 * infinitely late.
 *
 * Also printed: idle RSS per node (after --idle-seconds of idling), peak RSS (VmHWM), CPU seconds
 * per node (utime + stime, all threads) while idle and per phase, node CPU per finalized
 * transaction in each phase (the idle cost subtracted; comparable across runs on a loaded machine,
 * where the rates are not), and as a same-run baseline the
 * single-core Ed25519 verify rate. Diagnostics: `--verbose` logs every block and each node's CPU %
 * once a second; `--cpu-prof DIR` starts the nodes with --cpu-prof and keeps their profiles in DIR;
 * `--log-dir DIR` keeps each node's log and its /metrics after each phase.
 * Where the time goes: each phase prints the nodes' `tillid_tx_stage_seconds{stage}` histograms
 * (node/mempool/stages.ts; read from /metrics before and after the phase, summed over the nodes,
 * p50/p99 interpolated within buckets), and phase B also the load generator's own split: submit →
 * the node's answer (admitted), submit → the block's proposal (its header timestamp; every process
 * here shares the machine's clock) and proposal → seen final on node 1.
 * Bytes per block per node: what each node sent to its peers over libp2p (TCP bytes acknowledged on
 * its connections to the other nodes' p2p ports, from `ss -ti` sampled every second: framing,
 * encryption and gossip relays included, retransmissions not) in each phase, divided by the blocks
 * finalized in it.
 *
 * It never hangs: an overall --timeout, and every node process is killed on exit, on a signal or on
 * an error, and the temporary network directory removed. (Only a SIGKILL of this process itself
 * can orphan the nodes; `kill` them by the pids it logs.)
 *
 * Modules (test/bench/network/): options.ts (the command line), cluster.ts (the node processes),
 * presign.ts (the load, signed on worker threads), follower.ts (finality on node 1), load.ts
 * (phases A and B), p2p-bytes.ts (bytes sent per node), stages.ts (the stage histograms),
 * report.ts (what is printed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { editConfigs, initNetworkDir } from '../process.ts';
import { Cluster } from './network/cluster.ts';
import { follow } from './network/follower.ts';
import { drainA, type Load, phaseA, phaseB } from './network/load.ts';
import { DRAIN_MS, options } from './network/options.ts';
import { P2pBytes } from './network/p2p-bytes.ts';
import { presign } from './network/presign.ts';
import { report } from './network/report.ts';
import { readStages, stageDelta } from './network/stages.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';
import { cpuSeconds, statusMb } from './wan-proc.ts';

const CHAIN_ID = 'tillid-bench-network';
const {
  authorities,
  duration,
  rate,
  batch,
  concurrency,
  maxPending,
  latencyDuration,
  latencyBatch,
  verifyWorkers,
  blockIntervalMs,
  presignRate,
  signerCount,
  idleSeconds,
  timeoutS,
  cpuProf,
} = options;
const logDir = options.logDir ? resolve(options.logDir) : undefined;

const t0 = performance.now();
const log = (line: string) =>
  console.error(
    `[${new Date().toISOString().slice(11, 23)} +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = tempDirPlain('tillid-bench-network-');
const cluster = new Cluster(dir, timeoutS);

// ---- baseline first, while the machine is as quiet as this run will see it --------------------
const baseline = verifyBaseline();
log(`baseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core`);

// ---- network ---------------------------------------------------------------------------------
// Below the kernel's ephemeral range (32768 and up here): a port there may already be the local
// end of someone's outgoing connection, and a node failed to start on EADDRINUSE twice in eight
// runs on this shared machine.
const basePort = 20_000 + (process.pid % 600) * 20;
const configs = await initNetworkDir(dir, authorities, CHAIN_ID, basePort);
editConfigs(configs, (config) => {
  config.blockIntervalMs = blockIntervalMs;
  // The start-up wait below watches empty blocks (bench:idle measures the quiet default).
  config.emptyBlockIntervalMs = blockIntervalMs;
  config.verifyWorkers = verifyWorkers;
  config.logLevel = 'info'; // startNodeProcess waits for the info line "node started"
});

// ---- pre-signing, before the nodes start so it takes no CPU from them ------------------------
const countA = duration * presignRate;
const countB = Math.ceil(rate * latencyDuration);
const total = countA + countB;
const signed = await presign(CHAIN_ID, total, signerCount);
log(
  `pre-signed ${total} anchors (${countA} for phase A, ${countB} for phase B) with ${signerCount} keys on ${signed.threads} threads in ${signed.seconds.toFixed(1)} s`,
);

// ---- start ----------------------------------------------------------------------------------
await cluster.start(configs, cpuProf, logDir);
const { nodes } = cluster;
const pids = nodes.map((n) => n.child.pid as number);
const urls = nodes.map((n) => n.url);
const height = async (i: number) =>
  ((await (await fetch(`${urls[i]}/v1/status`)).json()) as { height: number }).height;
for (;;) {
  const heights = await Promise.all(nodes.map((_, i) => height(i)));
  if (heights.every((h) => h >= 2)) break;
  if (performance.now() - t0 > timeoutS * 500) throw new Error(`the network does not finalize: ${heights}`);
  await sleep(100);
}
log(`${authorities} authorities finalizing: pids ${pids.join(' ')}, API ports from ${basePort}`);

// Each node's p2p listen port: a connection is libp2p traffic when either end is one of them.
const p2p = new P2pBytes(
  pids,
  new Set(
    configs.map((c) => Number(/\/tcp\/(\d+)/.exec(JSON.parse(readFileSync(c, 'utf8')).p2p.listen[0])?.[1])),
  ),
);
const cpuNow = () => pids.map(cpuSeconds);
const cpuSince = (before: number[]) => cpuNow().map((c, i) => c - (before[i] as number));
let lastCpu = cpuNow();
if (options.verbose) {
  setInterval(() => {
    if (cluster.stopping) return;
    const now = cpuNow();
    log(`CPU %: ${now.map((c, i) => (100 * (c - (lastCpu[i] as number))).toFixed(0)).join(' ')}`);
    lastCpu = now;
  }, 1000).unref();
}

// ---- idle --------------------------------------------------------------------------------------
const cpuIdleStart = cpuNow();
await sleep(idleSeconds * 1000);
const cpuIdle = cpuSince(cpuIdleStart);
const idleRss = pids.map((pid) => statusMb(pid, 'VmRSS'));
log(`idle RSS: ${idleRss.map((r) => `${r.toFixed(0)} MB`).join(', ')}`);

const follower = follow(urls[0] as string, signed.run, total, await height(0), (h, n) => {
  if (options.verbose) log(`block ${h}: ${n} transactions`);
});
const load: Load = { urls, txs: signed.txs, follower, codes: new Map(), log };
const saveMetrics = async (phase: string) => {
  if (!logDir) return;
  for (const [i, n] of nodes.entries()) {
    const text = await (await fetch(`${n.url}/metrics`)).text();
    writeFileSync(join(logDir, `node-${i + 1}.metrics-${phase}.txt`), text);
  }
};

// ---- phase A: sustained throughput ------------------------------------------------------------
const cpuStartA = cpuNow();
const bytesStartA = p2p.now();
const selfStartA = process.cpuUsage();
const stagesStartA = await readStages(urls);
log(
  `phase A: ${duration} s, batches of ${batch}, ≤ ${concurrency} requests per node, ≤ ${maxPending} pending`,
);
const a = await phaseA(load, { seconds: duration, batch, concurrency, maxPending, count: countA });
const cpuA = cpuSince(cpuStartA);
const bytesA = p2p.since(bytesStartA);
const selfA = process.cpuUsage(selfStartA);
const stagesA = stageDelta(stagesStartA, await readStages(urls));
await saveMetrics('A');
const finalizedIn = (from: number, to: number) => {
  let n = 0;
  for (let i = 0; i < countA; i++) {
    const at = follower.finalizedAt[i] as number;
    if (at >= from && at < to) n++;
  }
  return n;
};
const finalizedInA = finalizedIn(a.start, a.end);
const timeline: number[] = [];
for (let s = 0; s < duration; s += 10) {
  const to = Math.min(duration, s + 10);
  timeline.push(finalizedIn(a.start + s * 1000, a.start + to * 1000) / (to - s));
}
log(
  `phase A: ${finalizedInA} finalized in the window, ${(finalizedInA / duration).toFixed(0)} tx/s; draining`,
);
// Drain, so that phase B starts from empty mempools.
const unfinalizedA = await drainA(load, a, DRAIN_MS);
await sleep(1000);

// ---- phase B: latency at a fixed offered load, open loop ---------------------------------------
let b: Parameters<typeof report>[0]['b'];
let [cpuB, bytesB, selfB] = [pids.map(() => 0), pids.map(() => 0), { user: 0, system: 0 }];
let stagesB: ReturnType<typeof stageDelta> | undefined;
const startB = performance.now();
if (countB > 0) {
  const cpuStartB = cpuNow();
  const bytesStartB = p2p.now();
  const selfStartB = process.cpuUsage();
  const stagesStartB = await readStages(urls);
  log(
    `phase B: ${rate} tx/s offered for ${latencyDuration} s, open loop, ${latencyBatch === 1 ? 'single-transaction POSTs' : `batches of ${latencyBatch}`} round-robin`,
  );
  const phase = await phaseB(load, {
    rate,
    batch: latencyBatch,
    first: countA,
    count: countB,
    drainMs: DRAIN_MS,
  });
  cpuB = cpuSince(cpuStartB);
  const seconds = (performance.now() - startB) / 1000;
  bytesB = p2p.since(bytesStartB);
  selfB = process.cpuUsage(selfStartB);
  stagesB = stageDelta(stagesStartB, await readStages(urls));
  await saveMetrics('B');
  b = { ...phase, rate, batch: latencyBatch, seconds };
}
// Blocks finalized while the phase's counters ran: A's window, B from its start to the drain's end.
const blocksA = follower.blocks.filter((x) => x.at >= a.start && x.at < a.end);
const blocksB = follower.blocks.filter((x) => x.at >= startB);
await follower.stop();

// ---- peak RSS, stop ----------------------------------------------------------------------------
p2p.stop();
const peakRss = pids.map((pid) => statusMb(pid, 'VmHWM'));
const exits = await cluster.stop();

report({
  authorities,
  verifyWorkers,
  blockIntervalMs,
  baseline,
  presigned: { total, signers: signerCount, threads: signed.threads, seconds: signed.seconds },
  a: { ...a, seconds: duration, batch, maxPending, finalized: finalizedInA },
  timeline,
  unfinalizedA,
  blocksA,
  ...(b ? { b } : {}),
  blocksB,
  drainMs: DRAIN_MS,
  codes: load.codes,
  idleSeconds,
  idleRss,
  peakRss,
  cpu: { idle: cpuIdle, a: cpuA, b: cpuB },
  bytes: { a: bytesA, b: bytesB },
  stages: { a: stagesA, ...(stagesB ? { b: stagesB } : {}) },
  self: { a: selfA, b: selfB },
  exits,
});
