/**
 * One topology's year for `bench:national`: `authorities` node processes (the real CLI, real
 * libp2p over TCP) on the accelerated business clock, one business day per block, playing the
 * `planYear` workload. The run is cut into windows, each measured on every node (`measure.ts`):
 *
 * - `idle`: blocks with nothing in them (the clock ticks; no decision is due);
 * - `decision`: the blocks around a 1st of the month, where the chain decides every running
 *   contract's month by itself;
 * - `create`, `activate`, `report`, `amend`, `anchor`: one burst of that class, sent in batches
 *   round-robin to the nodes, from the send until every node holds the block after the last one;
 * - `read`: a sample of `GET /v1/contracts/:id`, round-robin over the nodes.
 *
 * Then `background`: the same nodes restarted with the production empty-block interval (10 min)
 * and left alone for `idleSeconds`: what a node costs per second of a real year with no block.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { addMonths, DAY_MS, formatDate, parseDate } from '../../../node/state/contracts/calendar.ts';
import { castOfCase } from '../../fixtures/contracts.ts';
import {
  editConfigs,
  initNetworkDir,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
} from '../../fixtures/processes.ts';
import { tempDirPlain } from '../util.ts';
import { type Delta, delta, type Probe, type Sample, sample } from './measure.ts';
import type { Assumptions, TxClass } from './model.ts';
import { planSetup, planYear } from './workload.ts';

/** The TCP port of a config's first p2p listen address (`/ip4/…/tcp/<port>`). */
const p2pPort = (config: { p2p?: { listen?: string[] } }): number | undefined => {
  const m = /\/tcp\/(\d+)/.exec(config.p2p?.listen?.[0] ?? '');
  return m ? Number(m[1]) : undefined;
};

export type WindowKind = TxClass | 'idle';

export interface Window {
  readonly kind: WindowKind;
  readonly count: number;
  readonly blocks: number;
  readonly seconds: number;
  readonly nodes: Delta[];
}

export interface TopologyRun {
  readonly topology: string;
  readonly authorities: number;
  readonly counts: Record<TxClass, number>;
  readonly windows: Window[];
  readonly decisionsMade: number;
  readonly peakRssMb: number[];
  readonly diskGrowthBytes: number[];
  readonly yearBlocks: number;
  readonly yearSeconds: number;
  readonly background: {
    seconds: number;
    blocks: number;
    cpuPerSecond: number[];
    bytesPerSecond: number[];
    rssMb: number[];
  };
}

export interface RunOptions {
  readonly assumptions: Assumptions;
  readonly children: number;
  readonly blockIntervalMs: number;
  readonly readSample: number;
  readonly idleSeconds: number;
  readonly basePort: number;
  readonly log: (line: string) => void;
  /** Every node process started, so the caller can kill them all on a signal. */
  readonly started: Set<NodeProcess>;
}

const BATCH = 500;
const WAIT_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTopology(
  topology: string,
  authorities: number,
  o: RunOptions,
): Promise<TopologyRun> {
  const chainId = `tillid-bench-national-${topology}`;
  const dir = tempDirPlain(`tillid-bench-national-${topology}-`);
  let nodes: NodeProcess[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => stopNodeProcess(n, 'SIGTERM')));
    for (const n of nodes) o.started.delete(n);
    nodes = [];
  };
  const startAll = async (configs: string[]) => {
    const starting = configs.map((c) => startNodeProcess(c));
    for (const s of starting) void s.then((n) => o.started.add(n)).catch(() => {});
    nodes = await Promise.all(starting);
  };
  try {
    const configs = await initNetworkDir(dir, authorities, chainId, o.basePort, [
      '--business-days-per-block',
      '1',
    ]);
    editConfigs(configs, (config) => {
      config.blockIntervalMs = o.blockIntervalMs;
      // On the accelerated clock blocks are business time: one a block interval, empty or not.
      config.emptyBlockIntervalMs = o.blockIntervalMs;
      config.logLevel = 'info';
    });
    const cast = castOfCase();
    const setup = planSetup(chainId, readNodeConfigKey(configs[0] as string), cast);
    await startAll(configs);
    const probes: Probe[] = nodes.map((n, i) => {
      const config = JSON.parse(readFileSync(configs[i] as string, 'utf8'));
      return {
        pid: n.child.pid as number,
        p2pPort: p2pPort(config),
        dataDir: resolve(dirname(configs[i] as string), config.dataDir),
      };
    });
    /** The fields of the node's JSON answers this run reads (status, transaction verdicts). */
    interface Answer {
      height: number;
      clock: { businessDate: string };
      status?: string;
      code?: string;
      message?: string;
    }
    const get = async (i: number, path: string) =>
      (await fetch(`${nodes[i]?.url}${path}`)).json() as Promise<Answer>;
    const heights = async () =>
      Promise.all(nodes.map(async (_, i) => (await get(i, '/v1/status')).height as number));
    const today = async () => parseDate((await get(0, '/v1/status')).clock.businessDate) as number;
    const until = async (what: string, done: () => Promise<boolean>, why?: () => Promise<string>) => {
      const deadline = performance.now() + WAIT_MS;
      while (!(await done())) {
        if (performance.now() > deadline)
          throw new Error(
            `${topology}: ${what} not reached in ${WAIT_MS / 1000} s${why ? ` — ${await why().catch((e) => `(state unreadable: ${(e as Error).message})`)}` : ''}`,
          );
        await sleep(20);
      }
    };
    await until('height 2 on every node', async () => (await heights()).every((h) => h >= 2));

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
            const body = (await r.json()) as { results?: { code?: string }[] };
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
     * Why a batch is not final, for the error a bounded wait ends with: each node's height, mempool
     * and peers, and where the batch's transactions are on each node (finalized, pending, rejected
     * with its code, unknown).
     */
    const batchState = async (txs: Transaction[]) => {
      const lines = await Promise.all(
        nodes.map(async (_, i) => {
          const s = (await get(i, '/v1/status')) as Answer & {
            mempool?: { transactions: number };
            peers?: string[];
          };
          const where = new Map<string, number>();
          for (const tx of txs) {
            const v = await get(i, `/v1/transactions/${transactionHash(tx)}`);
            const k = v.status === 'rejected' ? `rejected ${v.code}` : (v.status ?? v.code ?? 'unknown');
            where.set(k, (where.get(k) ?? 0) + 1);
          }
          return `node ${i + 1}: height ${s.height}, mempool ${s.mempool?.transactions}, ${s.peers?.length} peers; ${[...where].map(([k, c]) => `${c} ${k}`).join(', ')}`;
        }),
      );
      return lines.join('; ');
    };
    /** Until the last of every batch is final on the last node, then every node holds a block more. */
    const final = async (txs: Transaction[]) => {
      const last = nodes.length - 1;
      for (let i = 0; i < txs.length; i += BATCH) {
        const tx = txs[Math.min(txs.length, i + BATCH) - 1] as Transaction;
        await until(
          `${tx.type} final`,
          async () => {
            const v = await get(last, `/v1/transactions/${transactionHash(tx)}`);
            if (v.status === 'rejected') throw new Error(`${tx.type} rejected: ${v.code} ${v.message}`);
            return v.status === 'finalized';
          },
          () => batchState(txs.slice(i, i + BATCH)),
        );
      }
      const h = Math.max(...(await heights()));
      await until('every node a block further', async () => (await heights()).every((x) => x > h));
    };

    const windows: Window[] = [];
    const measure = async (kind: WindowKind, count: number, work: () => Promise<void>) => {
      const s0: Sample[] = sample(probes);
      const h0 = (await heights())[0] as number;
      const t0 = performance.now();
      await work();
      const h1 = (await heights())[0] as number;
      windows.push({
        kind,
        count,
        blocks: h1 - h0,
        seconds: (performance.now() - t0) / 1000,
        nodes: delta(s0, sample(probes)),
      });
    };
    const idleUntil = (day: number) =>
      measure('idle', 0, () => until(`business day ${formatDate(day)}`, async () => (await today()) >= day));

    for (const group of setup) {
      await send(group);
      await final(group);
    }
    // The year starts on the 1st of a month far enough ahead for signing, creation and activation
    // to be final before it (the clock runs a business day per block meanwhile, whatever the load).
    const batches = Math.ceil((o.children * 2.5) / BATCH);
    const m0 = new Date(((await today()) + 20 + 6 * batches) * DAY_MS);
    const startDay = Date.UTC(m0.getUTCFullYear(), m0.getUTCMonth() + 1, 1) / DAY_MS;
    const plan = planYear(o.assumptions, o.children, chainId, cast, formatDate(startDay));
    o.log(
      `${topology}: ${authorities} node(s); ${o.children} children → ${plan.create.length} contracts; year from ${formatDate(startDay)}`,
    );
    const disk0 = sample(probes).map((s) => s.diskBytes);
    const yearStart = performance.now();
    const yearH0 = (await heights())[0] as number;
    await idleUntil((await today()) + 8);
    await measure('create', plan.create.length, async () => {
      await send(plan.create);
      await final(plan.create);
    });
    await measure('activate', plan.activate.length, async () => {
      await send(plan.activate);
      await final(plan.activate);
    });
    if ((await today()) >= startDay - 4)
      throw new Error(`${topology}: activation ended too close to the start; raise the margin`);
    let reads = 0;
    for (let m = 1; m <= 13; m++) {
      const first = addMonths(startDay, m - 1);
      await idleUntil(first - 3);
      // Month m-1's decisions, made by the chain in the first block of the 1st.
      if (m >= 2)
        await measure('decision', plan.decisionsDue[m - 1] as number, () =>
          until(`business day ${formatDate(first + 2)}`, async () => (await today()) >= first + 2),
        );
      if (m === 13) break;
      await idleUntil(first + 8);
      const month = plan.monthly[m] as (typeof plan.monthly)[number];
      for (const kind of ['report', 'amend', 'anchor'] as const) {
        const txs = month[kind];
        if (txs.length > 0)
          await measure(kind, txs.length, async () => {
            await send(txs);
            await final(txs);
          });
        // The month's reports must be on chain before the 1st, when the chain decides the month:
        // a report final later makes the chain withhold that month and release it on the report,
        // which is not the year the model plays. The clock is a business day per block, so a
        // burst that needs too many blocks (a loaded machine) runs past it; say so.
        const next = addMonths(startDay, m);
        if (kind === 'report' && txs.length > 0 && (await today()) >= next)
          throw new Error(
            `${topology}: month ${m}'s ${txs.length} reports were final only on business day ${formatDate(await today())}, on or after ${formatDate(next)} when the chain decides the month (the burst took more blocks than the ${Math.round(next - first - 8)} days left; a loaded machine, or raise --block-interval-ms)`,
          );
      }
      const readsThisMonth = Math.min(o.readSample, Math.round(plan.counts.read / 12));
      await measure('read', readsThisMonth, async () => {
        for (let i = 0; i < readsThisMonth; i++) {
          const r = await fetch(
            `${nodes[i % nodes.length]?.url}/v1/contracts/${plan.contracts[i % plan.contracts.length]}`,
          );
          if (r.status !== 200) throw new Error(`read: HTTP ${r.status}`);
          await r.arrayBuffer();
        }
      });
      reads += readsThisMonth;
      o.log(`${topology}: month ${m} done (${formatDate(first)})`);
    }
    const yearSeconds = (performance.now() - yearStart) / 1000;
    const yearBlocks = ((await heights())[0] as number) - yearH0;
    const end = sample(probes);
    const metrics = await (await fetch(`${nodes[0]?.url}/metrics`)).text();
    let decisionsMade = 0;
    let withheld = 0;
    for (const line of metrics.split('\n')) {
      const m = /^tillid_payment_decisions_total\{([^}]*)\} (\d+)/.exec(line);
      if (!m) continue;
      decisionsMade += Number(m[2]);
      if ((m[1] as string).includes('withhold')) withheld += Number(m[2]);
    }
    if (decisionsMade !== plan.counts.decision || withheld > 0)
      throw new Error(
        `${topology}: the chain made ${decisionsMade} decisions (${withheld} withheld); the plan has ${plan.counts.decision}, all released`,
      );

    // ---- background: the production empty-block interval, nothing to do -------------------------
    await stopAll();
    editConfigs(configs, (config) => {
      config.emptyBlockIntervalMs = 600_000;
    });
    await startAll(configs);
    const bgProbes = probes.map((p, i) => ({ ...p, pid: nodes[i]?.child.pid as number }));
    await sleep(8000); // peers connect and start-up work settles
    const b0 = sample(bgProbes);
    const bh0 = (await heights())[0] as number;
    const bt0 = performance.now();
    await sleep(o.idleSeconds * 1000);
    const b1 = sample(bgProbes);
    const bSeconds = (performance.now() - bt0) / 1000;
    const bDelta = delta(b0, b1);
    const run: TopologyRun = {
      topology,
      authorities,
      counts: { ...plan.counts, read: reads },
      windows,
      decisionsMade,
      peakRssMb: end.map((s) => s.peakRssMb),
      diskGrowthBytes: end.map((s, i) => s.diskBytes - (disk0[i] as number)),
      yearBlocks,
      yearSeconds,
      background: {
        seconds: bSeconds,
        blocks: ((await heights())[0] as number) - bh0,
        cpuPerSecond: bDelta.map((d) => d.cpuSeconds / bSeconds),
        bytesPerSecond: bDelta.map((d) => d.bytesSent / bSeconds),
        rssMb: b1.map((s) => s.rssMb),
      },
    };
    return run;
  } finally {
    await stopAll().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
