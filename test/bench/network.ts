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
 * Bytes per block per node: what each node sent to its peers over libp2p (TCP bytes acknowledged on
 * its connections to the other nodes' p2p ports, from `ss -ti` sampled every second: framing,
 * encryption and gossip relays included, retransmissions not) in each phase, divided by the blocks
 * finalized in it.
 *
 * It never hangs: an overall --timeout, and every node process is killed on exit, on a signal or on
 * an error, and the temporary network directory removed. (Only a SIGKILL of this process itself
 * can orphan the nodes; `kill` them by the pids it logs.)
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { transactions } from '../../client/transactions.ts';
import { DEFAULT_PARAMS } from '../../node/protocol/genesis.ts';
import { generateKeyPair, type KeyPair, Signer } from '../../node/protocol/signature.ts';
import {
  editConfigs,
  initNetworkDir,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
} from '../process.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';

const CHAIN_ID = 'tillid-bench-network';

/**
 * verifyWorkers for every node: 1. Measured here, 4 nodes and this load generator on 2 shared
 * cores, two alternating runs each of 15 s saturating plus 200 tx/s offered: with 1 worker, finality
 * p50 391/508 ms and p99 779/876 ms against 1353/975 ms and 2366/2196 ms with 0, throughput
 * 233/243 against 200/200 tx/s, and slightly less node CPU per transaction. Verifying on the main
 * thread blocks the event loop for a whole admission burst (a 500-transaction batch, or the same
 * burst arriving by gossip, is ≈ 75 ms of Ed25519 at 150 µs each), which delays consensus votes and
 * proposals; on a worker the kernel time-slices it and the main thread keeps answering. The price
 * is a second V8 isolate: ≈ 25 MB more RSS per node (≈ 180 MB idle against ≈ 157 MB).
 * `--verify-workers 0` measures the other choice.
 */
const VERIFY_WORKERS = 1;

interface SignJob {
  readonly keys: KeyPair[];
  readonly run: string;
  readonly from: number;
  readonly to: number;
  readonly expiresAt: number;
}

/** Transactions `from`..`to` of this run as JSON text; each ref names the run and its index. */
function signRange(job: SignJob): string[] {
  const signers = job.keys.map((k) => new Signer(k));
  const build = transactions(CHAIN_ID);
  const out: string[] = [];
  for (let i = job.from; i < job.to; i++) {
    const k = i % job.keys.length;
    const tx = build.anchor(
      signers[k] as Signer,
      {
        hash: createHash('sha256').update(`${job.run}:${i}`).digest('hex'),
        docType: 'status-report',
        ref: `urn:bench:${job.run}:${i}`,
      },
      { nonce: `${job.run}-${i}`, expiresAt: job.expiresAt },
    );
    out.push(JSON.stringify(tx));
  }
  return out;
}

if (isMainThread) await main();
else parentPort?.postMessage(signRange(workerData as SignJob));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      authorities: { type: 'string', default: '4' },
      duration: { type: 'string', default: '60' },
      rate: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '1' },
      'max-pending': { type: 'string', default: '1000' },
      'latency-duration': { type: 'string', default: '20' },
      'latency-batch': { type: 'string', default: '10' },
      'verify-workers': { type: 'string', default: String(VERIFY_WORKERS) },
      'block-interval-ms': { type: 'string', default: '200' },
      // Phase A's supply: this many pre-signed transactions per second of --duration.
      'presign-rate': { type: 'string', default: '3000' },
      signers: { type: 'string', default: '4' },
      'idle-seconds': { type: 'string', default: '5' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'log-dir': { type: 'string' },
    },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  const authorities = int('authorities', 1);
  const duration = int('duration', 1);
  const rate = int('rate', 0);
  const batch = int('batch', 1);
  const concurrency = int('concurrency', 1);
  const maxPending = Math.max(int('max-pending', 1), batch);
  const latencyDuration = int('latency-duration', 0);
  const latencyBatch = int('latency-batch', 1);
  const verifyWorkers = int('verify-workers', 0);
  const blockIntervalMs = int('block-interval-ms', 10);
  const presignRate = int('presign-rate', 1);
  const signerCount = int('signers', 1);
  const idleSeconds = int('idle-seconds', 0);
  if (batch > 1000 || latencyBatch > 1000) throw new Error('a batch holds at most 1000 (the API limit)');
  const timeoutS = values.timeout ? int('timeout', 1) : duration + latencyDuration + 400;
  const DRAIN_MS = 60_000;

  const t0 = performance.now();
  const log = (line: string) =>
    console.error(
      `[${new Date().toISOString().slice(11, 23)} +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`,
    );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  // ---- never hang, never leave processes behind ------------------------------------------------
  const nodes: NodeProcess[] = [];
  let dir: string | undefined;
  let stopping = false;
  const killAll = () => {
    stopping = true;
    for (const n of nodes)
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`${signal}: killing the nodes`);
      killAll();
      process.exit(130);
    });
  }
  setTimeout(() => {
    console.error(`bench:network: overall timeout of ${timeoutS} s; killing the nodes`);
    killAll();
    process.exit(2);
  }, timeoutS * 1000).unref();

  // ---- baseline first, while the machine is as quiet as this run will see it --------------------
  const baseline = verifyBaseline();
  log(`baseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core`);

  // ---- network ---------------------------------------------------------------------------------
  dir = tempDirPlain('tillid-bench-network-');
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
  const run = randomBytes(6).toString('hex');
  const keys = Array.from({ length: signerCount }, () => generateKeyPair());
  const countA = duration * presignRate;
  const countB = Math.ceil(rate * latencyDuration);
  const total = countA + countB;
  // A block refuses expiresAt more than maxTransactionTtlMs past its time; the run is far shorter.
  const expiresAt = Date.now() + DEFAULT_PARAMS.maxTransactionTtlMs - 10 * 60_000;
  const signStarted = performance.now();
  const threads = Math.max(1, Math.min(cpus().length, 4));
  const chunk = Math.ceil(total / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      (_, t) =>
        new Promise<string[]>((done, fail) => {
          const job: SignJob = {
            keys,
            run,
            from: t * chunk,
            to: Math.min(total, (t + 1) * chunk),
            expiresAt,
          };
          const worker = new Worker(new URL(import.meta.url), { workerData: job });
          worker.once('message', done);
          worker.once('error', fail);
        }),
    ),
  );
  const txs = parts.flat();
  const signSeconds = (performance.now() - signStarted) / 1000;
  log(
    `pre-signed ${total} anchors (${countA} for phase A, ${countB} for phase B) with ${signerCount} keys on ${threads} threads in ${signSeconds.toFixed(1)} s`,
  );

  // ---- start ----------------------------------------------------------------------------------
  if (values['cpu-prof']) {
    const profDir = resolve(values['cpu-prof']);
    mkdirSync(profDir, { recursive: true });
    process.env.NODE_OPTIONS =
      `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
  }
  const starting = configs.map((c) => startNodeProcess(c));
  // Registered before awaiting, so an error starting one node still kills the others.
  for (const s of starting) void s.then((n) => nodes.push(n)).catch(() => {});
  const started = await Promise.all(starting);
  nodes.splice(0, nodes.length, ...started);
  if (values['cpu-prof']) delete process.env.NODE_OPTIONS;
  const logDir = values['log-dir'] ? resolve(values['log-dir']) : undefined;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    nodes.forEach((n, i) => {
      const file = join(logDir, `node-${i + 1}.log`);
      writeFileSync(file, '');
      n.child.stdout?.on('data', (d) => appendFileSync(file, d));
      n.child.stderr?.on('data', (d) => appendFileSync(file, d));
    });
  }
  nodes.forEach((n, i) => {
    void n.exited.then((code) => {
      if (stopping) return;
      console.error(`node ${i + 1} exited (${code}) during the run; aborting`);
      killAll();
      process.exit(1);
    });
  });
  const pids = nodes.map((n) => n.child.pid as number);
  const url = (i: number) => (nodes[i] as NodeProcess).url;
  const height = async (i: number) =>
    ((await (await fetch(`${url(i)}/v1/status`)).json()) as { height: number }).height;
  for (;;) {
    const heights = await Promise.all(nodes.map((_, i) => height(i)));
    if (heights.every((h) => h >= 2)) break;
    if (performance.now() - t0 > timeoutS * 500) throw new Error(`the network does not finalize: ${heights}`);
    await sleep(100);
  }
  log(`${authorities} authorities finalizing: pids ${pids.join(' ')}, API ports from ${basePort}`);

  const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (text: string, field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  const cpuSeconds = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc_pid_stat(5), utime and stime, in clock ticks (USER_HZ = 100).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  // Each node's p2p listen port: a connection is libp2p traffic when either end is one of them.
  const p2pPorts = new Set(
    configs.map((c) => Number(/\/tcp\/(\d+)/.exec(JSON.parse(readFileSync(c, 'utf8')).p2p.listen[0])?.[1])),
  );
  /**
   * TCP bytes each node has had acknowledged on its libp2p connections since the start, summed
   * over connections: sampled every second, each connection counted by its growth since the last
   * sample, so a connection that is replaced (a redial) neither resets the count nor is counted
   * twice. What a connection sends in its last second before closing is lost.
   */
  const lastAcked = new Map<string, { pid: number; acked: number }>();
  const sentByPid = new Map<number, number>();
  const sampleP2p = (): void => {
    let text = '';
    try {
      text = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8' });
    } catch {
      return;
    }
    const lines = text.split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      const m = /(\S+:(\d+))\s+(\S+:(\d+))\s+users:.*pid=(\d+)/.exec(lines[i] as string);
      if (!m) continue;
      const acked = /bytes_acked:(\d+)/.exec(lines[i + 1] as string);
      if (!acked || !(p2pPorts.has(Number(m[2])) || p2pPorts.has(Number(m[4])))) continue;
      const pid = Number(m[5]);
      const key = `${pid} ${m[1]} ${m[3]}`;
      const now = Number(acked[1]);
      const before = lastAcked.get(key)?.acked ?? 0;
      lastAcked.set(key, { pid, acked: now });
      sentByPid.set(pid, (sentByPid.get(pid) ?? 0) + Math.max(0, now - before));
    }
  };
  sampleP2p();
  const sampler = setInterval(sampleP2p, 1000);
  sampler.unref();
  const p2pBytes = (): number[] => {
    sampleP2p();
    return pids.map((pid) => sentByPid.get(pid) ?? 0);
  };
  const p2pBytesSince = (before: number[]) => p2pBytes().map((b, i) => b - (before[i] as number));
  const cpuNow = () => pids.map(cpuSeconds);
  const cpuSince = (before: number[]) => cpuNow().map((c, i) => c - (before[i] as number));
  let lastCpu = cpuNow();
  if (values.verbose) {
    setInterval(() => {
      if (stopping) return;
      const now = cpuNow();
      log(`CPU %: ${now.map((c, i) => (100 * (c - (lastCpu[i] as number))).toFixed(0)).join(' ')}`);
      lastCpu = now;
    }, 1000).unref();
  }

  // ---- idle --------------------------------------------------------------------------------------
  const cpuIdleStart = cpuNow();
  await sleep(idleSeconds * 1000);
  const cpuIdle = cpuSince(cpuIdleStart);
  const idleRss = pids.map((pid) => mb(status(pid), 'VmRSS'));
  log(`idle RSS: ${idleRss.map((r) => `${r.toFixed(0)} MB`).join(', ')}`);

  // ---- finality follower on node 1 --------------------------------------------------------------
  const submittedAt = new Float64Array(total);
  const finalizedAt = new Float64Array(total);
  let finalizedCount = 0;
  const blocks: { at: number; transactions: number }[] = [];
  const refPrefix = `urn:bench:${run}:`;
  let follow = true;
  const startHeight = await height(0);
  const follower = (async () => {
    let next = startHeight + 1;
    while (follow) {
      let response: Response;
      try {
        response = await fetch(`${url(0)}/v1/blocks/${next}`);
      } catch {
        await sleep(50);
        continue;
      }
      if (response.status === 404) {
        await response.arrayBuffer();
        await sleep(10);
        continue;
      }
      const block = (await response.json()) as { transactions: { payload: { ref?: unknown } }[] };
      const now = performance.now();
      for (const tx of block.transactions) {
        const ref = tx.payload.ref;
        if (typeof ref !== 'string' || !ref.startsWith(refPrefix)) continue;
        const i = Number(ref.slice(refPrefix.length));
        if (finalizedAt[i] === 0) {
          finalizedAt[i] = now;
          finalizedCount++;
        }
      }
      blocks.push({ at: now, transactions: block.transactions.length });
      if (values.verbose) log(`block ${next}: ${block.transactions.length} transactions`);
      next++;
    }
  })();

  const codes = new Map<string, number>();
  const countCode = (code: string, n = 1) => codes.set(code, (codes.get(code) ?? 0) + n);
  /** POSTs transactions `indices` to a node; resolves to one error code (or undefined) per item. */
  const post = async (node: number, indices: number[], single: boolean): Promise<(string | undefined)[]> => {
    const response = await fetch(`${url(node)}${single ? '/v1/transactions' : '/v1/transactions/batch'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: single
        ? (txs[indices[0] as number] as string)
        : `{"transactions":[${indices.map((i) => txs[i]).join(',')}]}`,
    });
    const body = (await response.json()) as { code?: string; results?: { code?: string }[] };
    if (single) return [response.status === 202 ? undefined : (body.code ?? `HTTP_${response.status}`)];
    if (!body.results) return indices.map(() => body.code ?? `HTTP_${response.status}`);
    return body.results.map((r) => r.code);
  };
  const saveMetrics = async (phase: string) => {
    if (!logDir) return;
    for (const [i, n] of nodes.entries()) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      writeFileSync(join(logDir, `node-${i + 1}.metrics-${phase}.txt`), text);
    }
  };

  // ---- phase A: sustained throughput ------------------------------------------------------------
  let cursor = 0;
  const retry: number[] = [];
  let acceptedA = 0;
  let inFlightA = 0;
  let exhausted = false;
  const finalizedBeforeA = finalizedCount;
  const pendingA = () => inFlightA + acceptedA - (finalizedCount - finalizedBeforeA);
  const cpuStartA = cpuNow();
  const bytesStartA = p2pBytes();
  const selfStartA = process.cpuUsage();
  const startA = performance.now();
  const endA = startA + duration * 1000;
  log(
    `phase A: ${duration} s, batches of ${batch}, ≤ ${concurrency} requests per node, ≤ ${maxPending} pending`,
  );
  // Each request goes to the next node in turn that has fewer than --concurrency outstanding.
  const outstanding = nodes.map(() => 0);
  let turn = 0;
  const nextNode = () => {
    for (let k = 0; k < authorities; k++) {
      const node = (turn + k) % authorities;
      if ((outstanding[node] as number) < concurrency) {
        turn = node + 1;
        return node;
      }
    }
    throw new Error('more senders than request slots');
  };
  const sender = async () => {
    while (performance.now() < endA) {
      if (pendingA() + batch > maxPending) {
        await sleep(5);
        continue;
      }
      const indices = retry.splice(0, batch);
      while (indices.length < batch && cursor < countA) indices.push(cursor++);
      if (indices.length === 0) {
        exhausted = true;
        return;
      }
      const node = nextNode();
      outstanding[node] = (outstanding[node] as number) + 1;
      inFlightA += indices.length;
      let results: (string | undefined)[];
      try {
        results = await post(node, indices, false);
      } catch {
        countCode('NETWORK_ERROR', indices.length);
        retry.push(...indices);
        await sleep(100);
        continue;
      } finally {
        outstanding[node] = (outstanding[node] as number) - 1;
        inFlightA -= indices.length;
      }
      let full = false;
      results.forEach((code, k) => {
        if (code === undefined) acceptedA++;
        else {
          countCode(code);
          if (code === 'MEMPOOL_FULL') {
            retry.push(indices[k] as number);
            full = true;
          }
        }
      });
      if (full) await sleep(100);
    }
  };
  await Promise.all(Array.from({ length: authorities * concurrency }, sender));
  const submitEndA = performance.now();
  await sleep(Math.max(0, endA - performance.now()));
  const cpuA = cpuSince(cpuStartA);
  const bytesA = p2pBytesSince(bytesStartA);
  const selfA = process.cpuUsage(selfStartA);
  await saveMetrics('A');
  const finalizedIn = (from: number, to: number) => {
    let n = 0;
    for (let i = 0; i < countA; i++) {
      const at = finalizedAt[i] as number;
      if (at >= from && at < to) n++;
    }
    return n;
  };
  const finalizedInA = finalizedIn(startA, endA);
  const tps = finalizedInA / duration;
  const timeline: number[] = [];
  for (let s = 0; s < duration; s += 10) {
    const to = Math.min(duration, s + 10);
    timeline.push(finalizedIn(startA + s * 1000, startA + to * 1000) / (to - s));
  }
  const blocksA = blocks.filter((b) => b.at >= startA && b.at < endA);
  log(`phase A: ${finalizedInA} finalized in the window, ${tps.toFixed(0)} tx/s; draining`);
  // Drain, so that phase B starts from empty mempools.
  const drainA = performance.now();
  while (finalizedCount - finalizedBeforeA < acceptedA && performance.now() - drainA < DRAIN_MS)
    await sleep(50);
  const unfinalizedA = acceptedA - (finalizedCount - finalizedBeforeA);
  await sleep(1000);

  // ---- phase B: latency at a fixed offered load, open loop ---------------------------------------
  const latencies: number[] = [];
  let acceptedB = 0;
  let rejectedB = 0;
  let cpuB = pids.map(() => 0);
  let bytesB = pids.map(() => 0);
  let selfB = { user: 0, system: 0 };
  let offeredFor = 0;
  let secondsB = 0;
  const startB = performance.now();
  if (countB > 0) {
    const cpuStartB = cpuNow();
    const bytesStartB = p2pBytes();
    const selfStartB = process.cpuUsage();
    const requests = Math.ceil(countB / latencyBatch);
    const perSecond = rate / latencyBatch;
    log(
      `phase B: ${rate} tx/s offered for ${latencyDuration} s, open loop, ${latencyBatch === 1 ? 'single-transaction POSTs' : `batches of ${latencyBatch}`} round-robin`,
    );
    const accepted: number[] = [];
    const inFlight: Promise<void>[] = [];
    let sent = 0;
    while (sent < requests) {
      const due = Math.min(requests, Math.floor(((performance.now() - startB) / 1000) * perSecond) + 1);
      for (; sent < due; sent++) {
        const indices: number[] = [];
        const first = countA + sent * latencyBatch;
        for (let i = first; i < Math.min(total, first + latencyBatch); i++) indices.push(i);
        const sentAt = performance.now();
        for (const i of indices) submittedAt[i] = sentAt;
        inFlight.push(
          post(sent % authorities, indices, latencyBatch === 1).then(
            (results) =>
              results.forEach((code, k) => {
                if (code === undefined) {
                  acceptedB++;
                  accepted.push(indices[k] as number);
                } else {
                  rejectedB++;
                  countCode(code);
                }
              }),
            () => {
              rejectedB += indices.length;
              countCode('NETWORK_ERROR', indices.length);
            },
          ),
        );
      }
      await sleep(1);
    }
    offeredFor = (performance.now() - startB) / 1000;
    await Promise.all(inFlight);
    const drainB = performance.now();
    while (accepted.some((i) => finalizedAt[i] === 0) && performance.now() - drainB < DRAIN_MS)
      await sleep(50);
    cpuB = cpuSince(cpuStartB);
    secondsB = (performance.now() - startB) / 1000;
    bytesB = p2pBytesSince(bytesStartB);
    selfB = process.cpuUsage(selfStartB);
    await saveMetrics('B');
    for (const i of accepted) {
      const at = finalizedAt[i] as number;
      latencies.push(at > 0 ? at - (submittedAt[i] as number) : Number.POSITIVE_INFINITY);
    }
    latencies.sort((a, b) => a - b);
  }
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  const blocksB = blocks.filter((b) => b.at >= startB);
  // Blocks finalized while the phase's counters ran: A's window, B from its start to the drain's end.
  const blocksInA = blocks.filter((b) => b.at >= startA && b.at < endA).length;
  const blocksInB = blocksB.length;
  follow = false;
  await follower;

  // ---- peak RSS, stop ----------------------------------------------------------------------------
  clearInterval(sampler);
  const peakRss = pids.map((pid) => mb(status(pid), 'VmHWM'));
  stopping = true;
  const exits = await Promise.all(
    nodes.map(async (n) => {
      const timer = setTimeout(() => n.child.kill('SIGKILL'), 15_000);
      await stopNodeProcess(n);
      clearTimeout(timer);
      return n.child.signalCode ?? n.child.exitCode;
    }),
  );
  killAll();

  // ---- report ----------------------------------------------------------------------------------
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const interval = (list: typeof blocks) =>
    list.length > 1
      ? `${(((list.at(-1)?.at ?? 0) - (list[0]?.at ?? 0)) / (list.length - 1)).toFixed(0)} ms`
      : '-';
  const verdict = (ok: boolean, target: string) => (ok ? `meets ${target}` : `MISSES ${target}`);
  // Node CPU (ms, summed over the nodes) per finalized transaction, the idle cost subtracted: the
  // figure that stays comparable when other work loads the machine and wall-clock rates do not.
  const idlePerSecond = sum(cpuIdle) / Math.max(1, idleSeconds);
  const cpuPerFinal = (cpu: number[], seconds: number, finalized: number) =>
    finalized > 0 ? (1000 * (sum(cpu) - idlePerSecond * seconds)) / finalized : Number.NaN;
  const cpuPerTx = cpuPerFinal(cpuA, duration, finalizedInA);
  const finalizedB = latencies.filter((l) => Number.isFinite(l)).length;
  const cpuPerTxB = cpuPerFinal(cpuB, secondsB, finalizedB);
  const perTx = (v: number) =>
    Number.isFinite(v)
      ? `${v.toFixed(2)} ms summed over the nodes (${(v / authorities).toFixed(2)} ms each), idle cost subtracted`
      : '-';
  const p50 = pct(50);
  const p99 = pct(99);
  const out = console.log;
  out('');
  out(
    `bench:network — ${authorities} authorities, verifyWorkers ${verifyWorkers}, blockIntervalMs ${blockIntervalMs}, ${cpus().length} CPUs shared by the nodes and this load generator`,
  );
  out(`baseline: single-core Ed25519 verify ${baseline.toFixed(0)} ops/s (node:crypto, cached key)`);
  out(
    `pre-signing: ${total} anchors, ${signerCount} keys, ${threads} threads, ${signSeconds.toFixed(1)} s (untimed)`,
  );
  out('');
  out(
    `A  sustained finalized      ${tps.toFixed(0).padStart(6)} tx/s over ${duration} s (${(tps / baseline).toFixed(2)}x single-core verify) — ${verdict(tps >= 2500, '≥ 2500')}`,
  );
  out(`   per 10 s                 ${timeline.map((t) => t.toFixed(0)).join(', ')} tx/s`);
  out(
    `   blocks                   ${blocksA.length} in the window, ${blocksA.length ? (sum(blocksA.map((b) => b.transactions)) / blocksA.length).toFixed(0) : 0} tx/block, interval ${interval(blocksA)}`,
  );
  out(
    `   submitted                ${acceptedA} accepted (batches of ${batch}, ≤ ${maxPending} pending), ${unfinalizedA} not final ${DRAIN_MS / 1000} s after the window${exhausted ? '; RAN OUT of pre-signed transactions (raise --presign-rate)' : ''}; last request returned ${((submitEndA - endA) / 1000).toFixed(1)} s after the window`,
  );
  out(`   node CPU per final tx    ${perTx(cpuPerTx)}`);
  if (countB > 0) {
    out(
      `B  finality at ${rate} tx/s   p50 ${ms(p50)} (${verdict(p50 <= 300, '≤ 300 ms')}), p99 ${ms(p99)} (${verdict(p99 <= 1000, '≤ 1 s')}), max ${ms(latencies.at(-1) ?? Number.NaN)}`,
    );
    out(
      `   offered                  ${rate} tx/s open loop for ${offeredFor.toFixed(1)} s, ${latencyBatch === 1 ? 'single POSTs' : `batches of ${latencyBatch}`} round-robin; ${acceptedB} accepted, ${rejectedB} rejected, ${latencies.filter((l) => !Number.isFinite(l)).length} not final ${DRAIN_MS / 1000} s after the load ended`,
    );
    out(`   blocks                   ${blocksB.length}, interval ${interval(blocksB)}`);
    out(`   node CPU per final tx    ${perTx(cpuPerTxB)} (over B and its drain)`);
  }
  if (codes.size > 0)
    out(`   rejections               ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  out('');
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(10) : c.padStart(10))).join(' ');
  const perBlock = (total: number, blocksIn: number, unit: number) =>
    blocksIn > 0 && Number.isFinite(total) ? (total / blocksIn / unit).toFixed(unit === 1 ? 3 : 1) : '-';
  const perNode = (xs: number[]) => sum(xs) / Math.max(1, xs.length);
  out(
    `per block per node         A: ${perBlock(perNode(bytesA), blocksInA, 1024)} KiB sent, ${perBlock(perNode(cpuA), blocksInA, 1)} CPU s (${blocksInA} blocks); B: ${perBlock(perNode(bytesB), blocksInB, 1024)} KiB sent, ${perBlock(perNode(cpuB), blocksInB, 1)} CPU s (${blocksInB} blocks)`,
  );
  out('');
  out(row(['', 'idle RSS', 'peak RSS', 'CPU idle', 'CPU A', 'CPU B', 'sent A', 'sent B', 'exit']));
  const mib = (b: number) => (Number.isFinite(b) ? `${(b / 1024 / 1024).toFixed(1)} MiB` : '-');
  pids.forEach((_, i) => {
    out(
      row([
        `node ${i + 1}`,
        `${(idleRss[i] as number).toFixed(0)} MB`,
        `${(peakRss[i] as number).toFixed(0)} MB`,
        `${(cpuIdle[i] as number).toFixed(1)} s`,
        `${(cpuA[i] as number).toFixed(1)} s`,
        `${(cpuB[i] as number).toFixed(1)} s`,
        mib(bytesA[i] as number),
        mib(bytesB[i] as number),
        String(exits[i]),
      ]),
    );
  });
  const self = (u: { user: number; system: number }) => `${((u.user + u.system) / 1e6).toFixed(1)} s`;
  out(
    row([
      'all nodes',
      `${sum(idleRss).toFixed(0)} MB`,
      `${sum(peakRss).toFixed(0)} MB`,
      `${sum(cpuIdle).toFixed(1)} s`,
      `${sum(cpuA).toFixed(1)} s`,
      `${sum(cpuB).toFixed(1)} s`,
      mib(sum(bytesA)),
      mib(sum(bytesB)),
      '',
    ]),
  );
  out(row(['bench', '', '', '', self(selfA), self(selfB), '', '', '']));
  out(
    `   (CPU s = utime + stime over ${idleSeconds} s idle, ${duration} s of A, ${offeredFor.toFixed(0)} s of B plus its drain; idle RSS ${verdict(
      idleRss.every((r) => r <= 150),
      '≤ 150 MB per node',
    )})`,
  );
}
