/**
 * `npm run bench:network`: a consortium of N authority processes on this machine, each started by
 * the real CLI (`tillid network init`, then `tillid node start` per municipality), talking real
 * libp2p to each other. This process pre-signs anchors (timed separately, before the nodes start),
 * submits them over HTTP spread round-robin across every node, and follows finality on the first
 * node by walking its blocks (GET /v1/blocks/:height).
 *
 *   npm run bench:network -- --authorities 4 [--duration 60] [--rate 1000] [--batch 500]
 *
 * Phase A, sustained throughput: for --duration seconds, batches of --batch pre-signed anchors
 * (POST /v1/transactions/batch) go round-robin to the nodes, --concurrency requests outstanding
 * per node, and at most --max-pending accepted-but-not-final transactions overall, so the mempools
 * hold a few blocks' worth rather than the whole run. Items a node refuses with MEMPOOL_FULL are
 * queued again and that sender backs off. Reported: transactions finalized inside the window
 * divided by the window's length.
 *
 * Phase B, latency at a fixed offered load: --rate tx/s for --latency-duration seconds, open loop
 * (requests leave on schedule whether or not earlier ones have returned). Chosen request shape:
 * small batches of --latency-batch (default 10, i.e. one request every 10 ms at 1000 tx/s) sent
 * round-robin to the nodes. That is how a municipality's gateway would forward bursts, and it keeps
 * the load generator's own HTTP cost (which shares the CPUs with the nodes) low; each transaction's
 * clock starts when its request is sent, so batching adds no unmeasured delay. `--latency-batch 1`
 * sends single-transaction POSTs to /v1/transactions instead. Latency is submission to the moment
 * this process sees the block holding it on node 1; a transaction never finalized counts as
 * infinitely late.
 *
 * Also printed: idle RSS per node (after a few seconds of idling), peak RSS (VmHWM), CPU seconds per
 * node per phase (utime + stime, all threads), and as a same-run baseline the single-core Ed25519
 * verify rate. `--cpu-prof DIR` starts the nodes with --cpu-prof and keeps their profiles in DIR;
 * `--log-dir DIR` keeps each node's log there.
 *
 * The run never hangs: an overall timeout, and every node process is killed on exit, on a signal
 * or on an error, and the temporary network directory is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DEFAULT_PARAMS } from '../../node/protocol/genesis.ts';
import { generateKeyPair, type KeyPair, Signer } from '../../node/protocol/signature.ts';
import { signTransactionWith } from '../../node/protocol/transaction.ts';
import { type NodeProcess, startNodeProcess, stopNodeProcess, tillid } from '../process.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';

const CHAIN_ID = 'tillid-bench-network';

interface SignJob {
  readonly keys: KeyPair[];
  readonly run: string;
  readonly from: number;
  readonly to: number;
  readonly expiresAt: number;
}

/** Transaction `i` of this run as JSON text; its ref names the run and `i`, so blocks map back. */
function signRange(job: SignJob): string[] {
  const signers = job.keys.map((k) => new Signer(k));
  const out: string[] = [];
  for (let i = job.from; i < job.to; i++) {
    const k = i % job.keys.length;
    out.push(
      JSON.stringify(
        signTransactionWith(
          {
            chainId: CHAIN_ID,
            type: 'anchor.record',
            payload: {
              hash: createHash('sha256').update(`${job.run}:${i}`).digest('hex'),
              docType: 'status-report',
              ref: `urn:bench:${job.run}:${i}`,
            },
            signer: (job.keys[k] as KeyPair).publicKey,
            nonce: `${job.run}-${i}`,
            expiresAt: job.expiresAt,
          },
          signers[k] as Signer,
        ),
      ),
    );
  }
  return out;
}

if (!isMainThread) {
  parentPort?.postMessage(signRange(workerData as SignJob));
} else {
  await main();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      authorities: { type: 'string', default: '4' },
      duration: { type: 'string', default: '60' },
      rate: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '500' },
      'latency-duration': { type: 'string', default: '20' },
      'latency-batch': { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '2' },
      'max-pending': { type: 'string', default: '15000' },
      // verifyWorkers: measured on 2 shared cores with 4 nodes (see VERIFY_WORKERS_NOTE below).
      'verify-workers': { type: 'string', default: '0' },
      'block-interval-ms': { type: 'string', default: '200' },
      /** Transactions pre-signed for phase A: this many per second of --duration. */
      'presign-rate': { type: 'string', default: '5000' },
      signers: { type: 'string', default: '4' },
      'idle-seconds': { type: 'string', default: '5' },
      timeout: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'log-dir': { type: 'string' },
      verbose: { type: 'boolean', default: false },
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
  const latencyDuration = int('latency-duration', 0);
  const latencyBatch = int('latency-batch', 1);
  const concurrency = int('concurrency', 1);
  const maxPending = int('max-pending', 1);
  const verifyWorkers = int('verify-workers', 0);
  const blockIntervalMs = int('block-interval-ms', 10);
  const presignRate = int('presign-rate', 1);
  const signerCount = int('signers', 1);
  const idleSeconds = int('idle-seconds', 0);
  if (batch > 1000) throw new Error('--batch is at most 1000 (the API limit)');
  const timeoutS = values.timeout ? int('timeout', 1) : duration + latencyDuration + 300;

  // ---- never hang, never leave processes behind ------------------------------------------------
  const nodes: NodeProcess[] = [];
  let dir: string | undefined;
  const killAll = () => {
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
  let stopping = false;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const log = (line: string) =>
    console.error(
      `[${new Date().toISOString().slice(11, 23)} +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`,
    );
  const t0 = performance.now();

  // ---- baseline first, while the machine is as quiet as this run will see it --------------------
  const baseline = verifyBaseline();
  log(`baseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core`);

  // ---- network ---------------------------------------------------------------------------------
  dir = tempDirPlain('tillid-bench-network-');
  const basePort = 30_000 + (process.pid % 500) * 20;
  const municipalities = Array.from({ length: authorities }, (_, i) => [
    '--municipality',
    `Bench Kommune ${i + 1}:${40_000_000 + i}`,
  ]).flat();
  const init = await tillid([
    'network',
    'init',
    '--out',
    dir,
    '--chain-id',
    CHAIN_ID,
    '--base-port',
    String(basePort),
    ...municipalities,
  ]);
  if (init.code !== 0) throw new Error(`network init failed: ${init.stderr}`);
  const configs = readdirSync(dir)
    .filter((f) => f !== 'genesis.json')
    .sort((a, b) => Number(a.split('-').pop()) - Number(b.split('-').pop()))
    .map((d) => join(dir as string, d, 'config.json'));
  for (const file of configs) {
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.blockIntervalMs = blockIntervalMs;
    config.verifyWorkers = verifyWorkers;
    config.logLevel = 'info';
    // Room for --max-pending plus what is in flight; the client-side cap is what bounds it.
    config.mempool = { maxTransactions: 50_000, maxBytes: 64 * 1024 * 1024 };
    writeFileSync(file, JSON.stringify(config, null, 2));
  }

  // ---- pre-signing (before the nodes start, so it takes no CPU from them) ------------------------
  const run = randomBytes(6).toString('hex');
  const keys = Array.from({ length: signerCount }, () => generateKeyPair());
  const countA = duration * presignRate;
  const countB = Math.ceil(rate * latencyDuration);
  const total = countA + countB;
  // expiresAt must be within maxTransactionTtlMs of the block time that includes it.
  const expiresAt = Date.now() + Math.min(DEFAULT_PARAMS.maxTransactionTtlMs - 5 * 60_000, 50 * 60_000);
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
  nodes.push(...(await Promise.all(configs.map((c) => startNodeProcess(c)))));
  if (values['cpu-prof']) delete process.env.NODE_OPTIONS;
  if (values['log-dir']) {
    const logDir = resolve(values['log-dir']);
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
      if (!stopping) {
        console.error(`node ${i + 1} exited (${code}) during the run; aborting`);
        killAll();
        process.exit(1);
      }
    });
  });
  const pids = nodes.map((n) => n.child.pid as number);
  const url = (i: number) => (nodes[i] as NodeProcess).url;
  const getJson = async (u: string) => (await fetch(u)).json() as Promise<Record<string, unknown>>;
  const height = async (i: number) => (await getJson(`${url(i)}/v1/status`)).height as number;
  for (;;) {
    const heights = await Promise.all(nodes.map((_, i) => height(i)));
    if (heights.every((h) => h >= 2)) break;
    if (performance.now() - t0 > timeoutS * 500) throw new Error(`the network does not finalize: ${heights}`);
    await sleep(100);
  }
  log(`${authorities} authorities finalizing (API ports ${basePort}..${basePort + authorities - 1})`);

  const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (text: string, field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  const cpuSeconds = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) in clock ticks; USER_HZ is 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  await sleep(idleSeconds * 1000);
  const idleRss = pids.map((pid) => mb(status(pid), 'VmRSS'));
  const cpuAtStart = pids.map(cpuSeconds);
  const selfAtStart = process.cpuUsage();
  log(`idle RSS: ${idleRss.map((r) => `${r.toFixed(0)} MB`).join(', ')}`);

  // ---- finality follower on node 1 --------------------------------------------------------------
  const submittedAt = new Float64Array(total);
  const finalizedAt = new Float64Array(total);
  let finalizedCount = 0;
  const blocks: { height: number; at: number; transactions: number }[] = [];
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
      const block = (await response.json()) as { transactions: { payload: { ref?: string } }[] };
      const now = performance.now();
      for (const tx of block.transactions) {
        const ref = tx.payload.ref;
        if (!ref?.startsWith(refPrefix)) continue;
        const i = Number(ref.slice(refPrefix.length));
        if (finalizedAt[i] === 0) {
          finalizedAt[i] = now;
          finalizedCount++;
        }
      }
      blocks.push({ height: next, at: now, transactions: block.transactions.length });
      if (values.verbose) log(`block ${next}: ${block.transactions.length} transactions`);
      next++;
    }
  })();
  const codes = new Map<string, number>();
  const countCode = (code: string, n = 1) => codes.set(code, (codes.get(code) ?? 0) + n);
  const post = async (node: number, indices: number[], single: boolean) => {
    const response = await fetch(`${url(node)}${single ? '/v1/transactions' : '/v1/transactions/batch'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: single
        ? (txs[indices[0] as number] as string)
        : `{"transactions":[${indices.map((i) => txs[i]).join(',')}]}`,
    });
    const body = (await response.json()) as { code?: string; results?: { hash?: string; code?: string }[] };
    if (single) return [response.status === 202 ? undefined : (body.code ?? `HTTP_${response.status}`)];
    if (!body.results) return indices.map(() => body.code ?? `HTTP_${response.status}`);
    return body.results.map((r) => r.code);
  };

  // ---- phase A: sustained throughput ------------------------------------------------------------
  let cursor = 0;
  const retry: number[] = [];
  let acceptedA = 0;
  let finalizedAtAStart = finalizedCount;
  let exhausted = false;
  const startA = performance.now();
  const endA = startA + duration * 1000;
  log(`phase A: ${duration} s, batches of ${batch}, ${concurrency} requests outstanding per node`);
  const sender = async (node: number) => {
    while (performance.now() < endA) {
      if (acceptedA - (finalizedCount - finalizedAtAStart) >= maxPending) {
        await sleep(5);
        continue;
      }
      const indices = retry.splice(0, batch);
      while (indices.length < batch && cursor < countA) indices.push(cursor++);
      if (indices.length === 0) {
        exhausted = true;
        return;
      }
      const sentAt = performance.now();
      for (const i of indices) submittedAt[i] = sentAt;
      let results: (string | undefined)[];
      try {
        results = await post(node, indices, false);
      } catch {
        countCode('NETWORK_ERROR', indices.length);
        retry.push(...indices);
        await sleep(100);
        continue;
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
      if (full) await sleep(50);
    }
  };
  finalizedAtAStart = finalizedCount;
  await Promise.all(nodes.flatMap((_, node) => Array.from({ length: concurrency }, () => sender(node))));
  const submitEndA = performance.now();
  const cpuAfterA = pids.map(cpuSeconds);
  const saveMetrics = async (phase: string) => {
    if (!values['log-dir']) return;
    for (const [i, n] of nodes.entries()) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      writeFileSync(join(resolve(values['log-dir']), `node-${i + 1}.metrics-${phase}.txt`), text);
    }
  };
  await saveMetrics('A');
  const selfAfterA = process.cpuUsage(selfAtStart);
  const inWindow = (from: number, to: number) => {
    let n = 0;
    for (let i = 0; i < countA; i++) {
      const at = finalizedAt[i] as number;
      if (at >= from && at <= to) n++;
    }
    return n;
  };
  const finalizedInA = inWindow(startA, endA);
  const tps = finalizedInA / duration;
  const timeline: number[] = [];
  for (let s = 0; s < duration; s += 10) {
    const to = Math.min(duration, s + 10);
    timeline.push(inWindow(startA + s * 1000, startA + to * 1000) / (to - s));
  }
  const blocksA = blocks.filter((b) => b.at >= startA && b.at <= endA);
  log(`phase A: ${finalizedInA} finalized in the window, ${tps.toFixed(0)} tx/s; draining`);
  // Drain, so phase B starts from empty mempools.
  const drainA = performance.now();
  while (finalizedCount - finalizedAtAStart < acceptedA && performance.now() - drainA < 60_000)
    await sleep(50);
  const unfinalizedA = acceptedA - (finalizedCount - finalizedAtAStart);
  await sleep(1000);

  // ---- phase B: latency at a fixed offered load, open loop ---------------------------------------
  const latencies: number[] = [];
  let acceptedB = 0;
  let rejectedB = 0;
  let cpuAfterB: number[] | undefined;
  let selfB = { user: 0, system: 0 };
  const requestsB = Math.ceil(countB / latencyBatch);
  const startB = performance.now();
  const cpuBeforeB = pids.map(cpuSeconds);
  const selfBeforeB = process.cpuUsage();
  if (countB > 0) {
    log(
      `phase B: ${rate} tx/s offered for ${latencyDuration} s, open loop, ${latencyBatch === 1 ? 'single-transaction POSTs' : `batches of ${latencyBatch}`} round-robin`,
    );
    const accepted: number[] = [];
    const inFlight: Promise<void>[] = [];
    let sent = 0;
    while (sent < requestsB) {
      const due = Math.min(
        requestsB,
        Math.floor(((performance.now() - startB) / 1000) * (rate / latencyBatch)) + 1,
      );
      for (; sent < due; sent++) {
        const indices: number[] = [];
        for (
          let i = countA + sent * latencyBatch;
          i < Math.min(total, countA + (sent + 1) * latencyBatch);
          i++
        )
          indices.push(i);
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
    await Promise.all(inFlight);
    const drainB = performance.now();
    while (accepted.some((i) => finalizedAt[i] === 0) && performance.now() - drainB < 30_000) await sleep(50);
    cpuAfterB = pids.map(cpuSeconds);
    selfB = process.cpuUsage(selfBeforeB);
    for (const i of accepted) {
      const at = finalizedAt[i] as number;
      latencies.push(at > 0 ? at - (submittedAt[i] as number) : Number.POSITIVE_INFINITY);
    }
    latencies.sort((a, b) => a - b);
  }
  await saveMetrics('B');
  const offeredSeconds = countB > 0 ? (performance.now() - startB) / 1000 : 0;
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  const blocksB = blocks.filter((b) => b.at >= startB);
  follow = false;
  await follower;

  // ---- peak RSS, stop ----------------------------------------------------------------------------
  const peakRss = pids.map((pid) => mb(status(pid), 'VmHWM'));
  const cpuTotal = pids.map(cpuSeconds);
  stopping = true;
  const exitCodes = await Promise.all(
    nodes.map(async (n) => {
      const timer = setTimeout(() => n.child.kill('SIGKILL'), 15_000);
      await stopNodeProcess(n);
      clearTimeout(timer);
      return n.child.exitCode ?? n.child.signalCode;
    }),
  );
  killAll();

  // ---- report ----------------------------------------------------------------------------------
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
  const interval = (list: typeof blocks) =>
    list.length > 1 ? (((list.at(-1)?.at ?? 0) - (list[0]?.at ?? 0)) / (list.length - 1)).toFixed(0) : '-';
  const cpuA = pids.map((_, i) => (cpuAfterA[i] as number) - (cpuAtStart[i] as number));
  const cpuB = pids.map((_, i) => (cpuAfterB ? (cpuAfterB[i] as number) - (cpuBeforeB[i] as number) : 0));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const meets = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');
  const p50 = pct(50);
  const p99 = pct(99);
  console.log('');
  console.log(
    `bench:network: ${authorities} authorities, verifyWorkers ${verifyWorkers}, blockIntervalMs ${blockIntervalMs}, ${cpus().length} CPUs (shared with this load generator)`,
  );
  console.log(`baseline: single-core Ed25519 verify ${baseline.toFixed(0)} ops/s (node:crypto, cached key)`);
  console.log(
    `pre-signing: ${total} anchors in ${signSeconds.toFixed(1)} s on ${threads} threads (not timed below)`,
  );
  console.log('');
  console.log(
    `phase A  sustained: ${tps.toFixed(0)} finalized tx/s over ${duration} s (${(tps / baseline).toFixed(2)}x single-core verify rate) — ${meets(tps >= 2500)} ≥ 2500`,
  );
  console.log(
    `         per 10 s: ${timeline.map((t) => t.toFixed(0)).join(', ')} tx/s; ${blocksA.length} blocks, ${blocksA.length ? (finalizedInA / blocksA.length).toFixed(0) : 0} tx/block, interval ${interval(blocksA)} ms`,
  );
  console.log(
    `         ${acceptedA} accepted, ${unfinalizedA} not finalized after a 60 s drain${exhausted ? ', RAN OUT of pre-signed transactions (raise --presign-rate)' : ''}; submission ended ${((submitEndA - endA) / 1000).toFixed(1)} s after the window`,
  );
  if (countB > 0) {
    console.log(
      `phase B  ${rate} tx/s offered for ${latencyDuration} s (${offeredSeconds.toFixed(1)} s with drain): finality p50 ${ms(p50)} (${meets(p50 <= 300)} ≤ 300), p99 ${ms(p99)} (${meets(p99 <= 1000)} ≤ 1000), max ${ms(latencies.at(-1) ?? Number.NaN)}`,
    );
    console.log(
      `         ${acceptedB} accepted, ${rejectedB} rejected, ${latencies.filter((l) => !Number.isFinite(l)).length} never finalized; ${blocksB.length} blocks, interval ${interval(blocksB)} ms`,
    );
  }
  if (codes.size > 0) console.log(`rejections: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  console.log('');
  const row = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(10) : c.padStart(11))).join(' ')}`;
  console.log(row(['node', 'idle RSS', 'peak RSS', 'CPU s (A)', 'CPU s (B)', 'CPU s (all)', 'exit']));
  pids.forEach((_, i) => {
    console.log(
      row([
        `node ${i + 1}`,
        `${(idleRss[i] as number).toFixed(0)} MB`,
        `${(peakRss[i] as number).toFixed(0)} MB`,
        (cpuA[i] as number).toFixed(1),
        (cpuB[i] as number).toFixed(1),
        ((cpuTotal[i] as number) - (cpuAtStart[i] as number)).toFixed(1),
        String(exitCodes[i]),
      ]),
    );
  });
  const self = (u: { user: number; system: number }) => ((u.user + u.system) / 1e6).toFixed(1);
  console.log(
    row([
      'all nodes',
      `${sum(idleRss).toFixed(0)} MB`,
      `${sum(peakRss).toFixed(0)} MB`,
      sum(cpuA).toFixed(1),
      sum(cpuB).toFixed(1),
      '',
      '',
    ]),
  );
  console.log(row(['bench', '', '', self(selfAfterA), self(selfB), '', '']));
  console.log(
    `idle RSS ≤ 150 MB per node: ${meets(idleRss.every((r) => r <= 150))}; CPU available in phase A: ${(cpus().length * duration).toFixed(0)} s`,
  );
}
