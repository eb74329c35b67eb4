/**
 * `npm run bench:contracts`: complete K1-style contract lifecycles on a local network of four
 * authority processes, and the same network's plain anchor throughput as the same-run baseline.
 *
 *   npm run bench:contracts -- [--lifecycles 2000] [--days-per-block 10] [--block-interval-ms 250]
 *                              [--idle-seconds 3] [--cpu-prof DIR] [--skip-baseline] [--separate-approval]
 *
 * A lifecycle is the pilot's K1: create, two-party activation, 12 monthly payment decisions made
 * by the chain at block time, and the 4 quarterly status reports. Activation is the pilot's
 * offline multisignature by default — the care home co-signs, the caseworker broadcasts: one
 * transaction with two signatures — so 6 transactions and 12 decisions; `--separate-approval`
 * sends the care home's approval as its own transaction (7). All lifecycles run at once, each
 * step sent as soon as it may be (a report once its quarter's last month has begun in business
 * time), so the figure is the network's capacity for whole lifecycles, not one lifecycle's latency.
 * Every transaction is signed before the measured window (the lifecycles while the nodes idle,
 * so that their start date lies just ahead of the business clock), so signing takes no CPU from them.
 *
 * Printed: lifecycles/s and tx/s from the first create to the last contract's expiry; the floor
 * the business clock sets (12 months of blocks) and which of the two bound the run: the figure
 * is the network's capacity only when the run took clearly longer than the floor (raise
 * --lifecycles, or --days-per-block, until it does). The nodes' CPU (utime + stime from /proc, all
 * threads, the idle rate measured before the run subtracted) per lifecycle per node is the figure
 * that survives a loaded machine; the lifecycles/s that CPU allows on this machine's cores is
 * printed beside it as a projection. Baseline: anchors/s and CPU per anchor on the same network,
 * same batching: contract tx/s ÷ anchor tx/s says what the contract logic costs.
 *
 * `--cpu-prof DIR` starts the nodes with --cpu-prof (profiles written when they stop, with
 * SIGTERM); `node test/bench/profile-top.ts DIR --threads main --inclusive` sums them;
 * `--skip-baseline` leaves the anchors out, so the profile is the lifecycles' alone.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { type Transaction, transactionHash } from '../../node/protocol/transaction.ts';
import { addMonths, DAY_MS, parseDate } from '../../node/state/contracts/calendar.ts';
import { CARE_HOME_CVR, castOfCase, commitment, MUNICIPALITY_CVR, txBuilder } from '../contracts.ts';
import {
  editConfigs,
  initNetworkDir,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
} from '../process.ts';
import { stepLines, stepTotals } from './height-steps.ts';
import { tempDirPlain, verifyBaseline } from './util.ts';
import { cpuSeconds, threadCpuSeconds } from './wan-proc.ts';

const CHAIN_ID = 'tillid-bench-contracts';
const BATCH = 500;
const MONTHLY = 5_500_000; // øre: the residential and school parts below
/** A phase (or the wait for the last expiry) that takes longer than this is reported as stuck. */
const PHASE_TIMEOUT_MS = 180_000;

const { values } = parseArgs({
  options: {
    lifecycles: { type: 'string', default: '2000' },
    'days-per-block': { type: 'string', default: '10' },
    'block-interval-ms': { type: 'string', default: '250' },
    keep: { type: 'boolean', default: false },
    'separate-approval': { type: 'boolean', default: false },
    'idle-seconds': { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    // No anchor baseline: a profile of the lifecycles alone.
    'skip-baseline': { type: 'boolean', default: false },
  },
});
const N = Number(values.lifecycles);
const separate = values['separate-approval'] === true;
const TX_PER_LIFECYCLE = separate ? 7 : 6;
const daysPerBlock = Number(values['days-per-block']);
const log = (line: string) => console.log(`[bench:contracts] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = tempDirPlain('tillid-bench-contracts-');
const nodes: NodeProcess[] = [];
try {
  const baseline = verifyBaseline();
  log(`baseline: Ed25519 verify ${baseline.toFixed(0)} ops/s on one core`);
  const configs = await initNetworkDir(dir, 4, CHAIN_ID, 31_000 + (process.pid % 400) * 20, [
    '--business-days-per-block',
    String(daysPerBlock),
  ]);
  editConfigs(configs, (config) => {
    config.blockIntervalMs = Number(values['block-interval-ms']);
    // The accelerated business clock: every block, empty or not, is business time.
    config.emptyBlockIntervalMs = config.blockIntervalMs;
    config.logLevel = 'info';
  });

  // ---- setup and baseline signed up front ---------------------------------------------------------------
  const cast = castOfCase();
  const b = txBuilder(CHAIN_ID, () => Date.now() + 25 * 60_000);
  const authority = readNodeConfigKey(configs[0] as string);
  const setup = [
    [
      b.registerMunicipality(authority, MUNICIPALITY_CVR, [
        { publicKey: cast.municipalAdmin.publicKey, roles: [], admin: true },
        { publicKey: cast.submitter.publicKey, roles: ['caseworker', 'centre-chief', 'director'] },
      ]),
    ],
    [
      b.registerProvider(cast.municipalAdmin, CARE_HOME_CVR, cast.careHome.key),
      b.defineTemplate(cast.director, 'k1', { approvalLifetimeDays: 365 }),
    ],
  ];
  const genesis = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'genesis.json'), 'utf8'));
  const origin = genesis.params.clock.origin / DAY_MS;
  const creates: Transaction[] = [];
  const proposals: Transaction[] = [];
  const approvals: Transaction[] = [];
  const reports: Transaction[][] = [[], [], [], []];
  /** Signs every lifecycle's transactions, the contracts starting on `start`. */
  const signLifecycles = (start: string) => {
    for (let i = 0; i < N; i++) {
      const create = b.create(cast.caseworker, {
        template: `${MUNICIPALITY_CVR}/k1`,
        provider: CARE_HOME_CVR,
        start,
        months: 12,
        reportEveryMonths: 3,
        items: [
          { code: 'residential', monthly: 4_500_000 },
          { code: 'school', monthly: 1_000_000 },
        ],
      });
      const id = transactionHash(create);
      creates.push(create);
      if (separate) {
        const proposal = b.propose(cast.caseworker, id, 'activate');
        proposals.push(proposal);
        approvals.push(b.approve(cast.careHomeRep, transactionHash(proposal)));
      } else {
        proposals.push(b.proposeCosigned(cast.caseworker, id, 'activate', [cast.careHomeRep]));
      }
      for (let q = 0; q < 4; q++)
        reports[q]?.push(b.report(cast.careHomeRep, id, 3 * (q + 1), commitment(`${id}:${q}`)));
    }
  };
  const signStart = performance.now();
  const anchors = Array.from({ length: values['skip-baseline'] ? 0 : TX_PER_LIFECYCLE * N }, (_, i) =>
    b.sign(authority, 'anchor.record', {
      hash: commitment(`anchor:${i}:${Math.random()}`),
      docType: 'bench',
      ref: `urn:bench:${i}`,
    }),
  );
  log(
    `signed ${anchors.length} baseline anchors in ${((performance.now() - signStart) / 1000).toFixed(1)} s`,
  );

  const profDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
  if (profDir) {
    mkdirSync(profDir, { recursive: true });
    process.env.NODE_OPTIONS =
      `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
  }
  nodes.push(...(await Promise.all(configs.map((c) => startNodeProcess(c)))));
  if (profDir) delete process.env.NODE_OPTIONS;
  const pids = nodes.map((n) => n.child.pid as number);
  /** CPU seconds of every node process together (utime + stime, all threads). */
  const nodeCpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  /** CPU seconds of the nodes' main threads alone (the event loop every block waits for). */
  const mainCpu = () => pids.reduce((sum, pid) => sum + threadCpuSeconds(pid, pid), 0);
  const status = async (i = 0) => (await fetch(`${nodes[i]?.url}/v1/status`)).json() as Promise<any>;

  /** Sends `txs` in batches round-robin over the nodes, then waits until every one is final (OK). */
  let rr = 0;
  const send = async (txs: Transaction[]) => {
    const sends: Promise<void>[] = [];
    for (let i = 0; i < txs.length; i += BATCH) {
      const node = nodes[rr++ % nodes.length] as NodeProcess;
      sends.push(
        fetch(`${node.url}/v1/transactions/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ transactions: txs.slice(i, i + BATCH) }),
        }).then(async (r) => {
          const body = (await r.json()) as { results?: { status?: string; code?: string }[] };
          const refused =
            body.results?.filter((x) => x.code !== undefined && x.code !== 'TX_DUPLICATE') ?? [];
          if (r.status !== 200 || refused.length > 0)
            throw new Error(`batch refused: ${r.status} ${JSON.stringify(refused[0] ?? body)}`);
        }),
      );
    }
    await Promise.all(sends);
  };
  /**
   * Waits until the last transaction of every batch is final. Blocks take the mempool in order, so
   * that is the batch's end; a transaction refused on the way shows in the final check (every
   * contract expired, every month released), which is what the run is judged by.
   */
  const final = async (txs: Transaction[]) => {
    const probes = [];
    for (let i = 0; i < txs.length; i += BATCH)
      probes.push(txs[Math.min(txs.length, i + BATCH) - 1] as Transaction);
    await Promise.all(
      probes.map(async (tx) => {
        const deadline = performance.now() + PHASE_TIMEOUT_MS;
        for (;;) {
          const v = (await (
            await fetch(`${nodes[3]?.url}/v1/transactions/${transactionHash(tx)}`)
          ).json()) as any;
          if (v.status === 'finalized') return;
          if (v.status === 'rejected') throw new Error(`${tx.type} rejected: ${v.code} ${v.message}`);
          // A transaction the network dropped (e.g. a full mempool evicting it) never turns final:
          // say so rather than wait forever.
          if (performance.now() > deadline)
            throw new Error(
              `${tx.type} ${transactionHash(tx)} not final after ${PHASE_TIMEOUT_MS / 1000} s (last: ${v.status ?? v.code})`,
            );
          await sleep(50);
        }
      }),
    );
  };
  for (const group of setup) {
    await send(group);
    await final(group);
  }

  // ---- idle: what the nodes spend making empty blocks, and the block time the clock gives -------
  const idleSeconds = Number(values['idle-seconds']);
  const idle0 = {
    cpu: nodeCpu(),
    main: mainCpu(),
    at: performance.now(),
    height: (await status()).height as number,
  };
  await sleep(idleSeconds * 1000);
  const idle1 = {
    cpu: nodeCpu(),
    main: mainCpu(),
    at: performance.now(),
    height: (await status()).height as number,
  };
  const idlePerSecond = (idle1.cpu - idle0.cpu) / ((idle1.at - idle0.at) / 1000);
  const idleMainPerSecond = (idle1.main - idle0.main) / ((idle1.at - idle0.at) / 1000);
  const idleBlockSeconds = (idle1.at - idle0.at) / 1000 / Math.max(1, idle1.height - idle0.height);

  // ---- the lifecycles signed now (the nodes idle), starting on the 1st of a month ahead ----------
  // Signing runs here, not in the measured window, while the business clock moves on: the start
  // is far enough ahead that signing (0.5–1.5 ms per lifecycle measured) does not reach it; every
  // block of lead beyond that is business-clock floor in the measured window.
  const signLead = Math.ceil((2 * N) / 1000 / idleBlockSeconds + 2) * daysPerBlock;
  const today = parseDate((await status()).clock.businessDate) as number;
  const o = new Date((today + signLead) * DAY_MS);
  const startDay = Date.UTC(o.getUTCFullYear(), o.getUTCMonth() + 1, 1) / DAY_MS;
  const lifecycleSign = performance.now();
  signLifecycles(new Date(startDay * DAY_MS).toISOString().slice(0, 10));
  log(
    `signed ${N} lifecycles (${TX_PER_LIFECYCLE * N} transactions) in ${((performance.now() - lifecycleSign) / 1000).toFixed(1)} s, starting ${new Date(startDay * DAY_MS).toISOString().slice(0, 10)}`,
  );

  // ---- the lifecycles ------------------------------------------------------------------------------
  const t0 = performance.now();
  const cpu0 = nodeCpu();
  const main0 = mainCpu();
  const h0 = (await status()).height;
  const urls = nodes.map((n) => n.url);
  const steps0 = await stepTotals(urls);
  await send(creates);
  await final(creates);
  await send(proposals);
  await final(proposals);
  if (approvals.length > 0) {
    await send(approvals);
    await final(approvals);
  }
  const activated = performance.now();
  const cpuActivated = nodeCpu();
  log(
    `${N} contracts created and activated in ${((activated - t0) / 1000).toFixed(1)} s, node CPU ${(cpuActivated - cpu0).toFixed(1)} s`,
  );
  let sentReports = 0;
  for (;;) {
    const today = parseDate((await status()).clock.businessDate) as number;
    while (sentReports < 4 && addMonths(startDay, 3 * (sentReports + 1) - 1) <= today) {
      await send(reports[sentReports] as Transaction[]);
      sentReports++;
    }
    // All start on the same day, so they expire together; the last one created stands for all
    // (the full check below confirms it).
    const lastOne = (await (
      await fetch(`${nodes[3]?.url}/v1/contracts/${transactionHash(creates.at(-1) as Transaction)}`)
    ).json()) as any;
    if (sentReports === 4 && lastOne.status === 'expired') break;
    if (performance.now() - activated > 5 * PHASE_TIMEOUT_MS)
      throw new Error(`the last contract is still ${lastOne.status} (decided ${lastOne.decided} of 12)`);
    await sleep(100);
  }
  // Complete means every month paid: a report that came after its due date (with many business
  // days per block, most do) releases its month when it is final.
  await final(reports.flat());
  const t1 = performance.now();
  const cpu1 = nodeCpu();
  const main1 = mainCpu();
  const h1 = (await status()).height;
  const steps1 = await stepTotals(urls);
  const seconds = (t1 - t0) / 1000;
  const check = (await (await fetch(`${nodes[3]?.url}/v1/contracts?party=${CARE_HOME_CVR}`)).json()) as any;
  const released = check.contracts.reduce((s: number, c: { released: number }) => s + c.released, 0);
  const expiredCount = check.contracts.filter((c: { status: string }) => c.status === 'expired').length;
  if (expiredCount !== N) throw new Error(`only ${expiredCount} of ${N} contracts completed their lifecycle`);
  if (released !== N * 12 * MONTHLY)
    throw new Error(`only ${released} of ${N * 12 * MONTHLY} øre released: not every lifecycle is complete`);
  const blockSeconds = seconds / Math.max(1, h1 - h0);
  // The business clock's floor: the blocks from the first create until every contract's last month
  // is over (origin + height × days per block), at the block time the nodes give with nothing to do.
  // A run that takes clearly longer was held by the work, so its lifecycles/s is a capacity.
  const floorBlocks = Math.max(0, Math.ceil((addMonths(startDay, 12) - origin) / daysPerBlock) - h0);
  const floor = floorBlocks * idleBlockSeconds;

  // ---- baseline: plain anchors, same network, same batching --------------------------------------
  const a0 = performance.now();
  const aCpu0 = nodeCpu();
  if (anchors.length > 0) {
    await send(anchors);
    await final(anchors.slice(-BATCH));
  }
  const anchorSeconds = (performance.now() - a0) / 1000;
  const anchorCpu = nodeCpu() - aCpu0 - idlePerSecond * anchorSeconds;
  const anchorRate = anchors.length / anchorSeconds;

  // Node CPU per lifecycle per node, idle subtracted: the load-robust figure. The year's empty
  // blocks are the workload's own (decisions are made at block time), so only the rate measured
  // before any contract existed is taken off.
  const cores = availableParallelism();
  const lifecycleCpu = cpu1 - cpu0 - idlePerSecond * seconds;
  const msPerLifecyclePerNode = (1000 * lifecycleCpu) / N / nodes.length;
  const mainMsPerLifecyclePerNode = (1000 * (main1 - main0 - idleMainPerSecond * seconds)) / N / nodes.length;
  const msPerAnchorPerNode = (1000 * anchorCpu) / anchors.length / nodes.length;
  const capacityBound = seconds > 1.25 * floor;

  const contractTxRate = (TX_PER_LIFECYCLE * N) / seconds;
  console.log('');
  console.log(
    `bench:contracts — ${N} K1 lifecycles on 4 authorities (${daysPerBlock} business days per block)`,
  );
  console.log(`  lifecycles/s             ${(N / seconds).toFixed(1)}   (target ≥ 100)`);
  console.log(
    `  contract tx/s            ${contractTxRate.toFixed(0)}   (${TX_PER_LIFECYCLE} per lifecycle${separate ? '' : ', activation co-signed'}; 12 decisions each made by the chain)`,
  );
  console.log(
    `  wall time                ${seconds.toFixed(1)} s, ${h1 - h0} blocks (${(blockSeconds * 1000).toFixed(0)} ms each)`,
  );
  console.log(
    `  business-clock floor     ${floor.toFixed(1)} s (${floorBlocks} blocks until the last month is over, at the idle block time of ${(idleBlockSeconds * 1000).toFixed(0)} ms)`,
  );
  console.log(
    `  bound by                 ${capacityBound ? 'the network (wall time > 1.25 × floor): lifecycles/s is a capacity' : 'the business clock (wall time ≤ 1.25 × floor): lifecycles/s is NOT a capacity; raise --lifecycles'}`,
  );
  console.log(
    `  of which                 ${((activated - t0) / 1000).toFixed(1)} s creating and activating (${((2 * N) / ((activated - t0) / 1000)).toFixed(0)} tx/s), ${((t1 - activated) / 1000).toFixed(1)} s the year`,
  );
  console.log(
    `  node CPU per lifecycle   ${msPerLifecyclePerNode.toFixed(2)} ms per node (${(lifecycleCpu / nodes.length).toFixed(1)} s per node in all; idle ${(idlePerSecond / nodes.length).toFixed(2)} CPU s/s per node subtracted)`,
  );
  console.log(
    `  of which main thread     ${mainMsPerLifecyclePerNode.toFixed(2)} ms per node (the rest: signature workers, GC helpers, I/O threads)`,
  );
  console.log(
    `  CPU-bound projection     ${(cores / ((msPerLifecyclePerNode * nodes.length) / 1000)).toFixed(0)} lifecycles/s (${cores} cores ÷ CPU per lifecycle summed over ${nodes.length} nodes; a projection, not measured)`,
  );
  console.log("  where a height's time goes (each node's tillid_consensus_step_seconds, round-0 heights):");
  for (const line of stepLines(steps0, steps1)) console.log(`    ${line}`);
  console.log(
    `  released in total        ${released} øre (${N} × 12 × 55,000 kr expected: ${N * 12 * 5_500_000})`,
  );
  if (anchors.length === 0) console.log('  baseline                 skipped (--skip-baseline)');
  else
    console.log(
      `  baseline anchors/s       ${anchorRate.toFixed(0)} (${anchors.length} anchors, same network and batching)`,
    );
  if (anchors.length > 0)
    console.log(`  contract tx/s ÷ anchors  ${(contractTxRate / anchorRate).toFixed(2)}`);
  if (anchors.length > 0)
    console.log(
      `  node CPU per anchor      ${msPerAnchorPerNode.toFixed(3)} ms per node; per lifecycle ÷ per anchor ${(msPerLifecyclePerNode / msPerAnchorPerNode).toFixed(1)} (a lifecycle is ${TX_PER_LIFECYCLE} tx + 12 decisions)`,
    );
  console.log(`  verify baseline          ${baseline.toFixed(0)} ops/s on one core`);
} finally {
  // SIGTERM when profiling: a node writes its profile as it exits.
  await Promise.all(nodes.map((n) => stopNodeProcess(n, values['cpu-prof'] ? 'SIGTERM' : 'SIGKILL')));
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
