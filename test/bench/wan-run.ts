/**
 * One bench:wan scenario: N authorities, each a node process in its own network namespace,
 * reaching each other only through the delaying relay (test/fixtures/wan-hosts.ts), configured
 * by `tillid network init --member Name=host` as separate hosts are. Two loads follow a warm-up:
 * the municipal one (open loop, single-transaction POSTs at --rate tx/s, round-robin over the
 * nodes) and saturation (closed loop, batches round-robin, a cap on transactions submitted but
 * not final). Finality is submission to the moment this process sees the block holding the
 * transaction on node 1, read through the relay as every request is, so it includes one WAN
 * round trip plus the follower's polling.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { transactions } from '../../client/transactions.ts';
import { DEFAULT_PARAMS } from '../../node/protocol/genesis.ts';
import { generateKeyPair, Signer } from '../../node/protocol/signature.ts';
import type { WanHosts } from '../fixtures/wan-hosts.ts';
import { tempDirPlain } from './util.ts';
import { API_PORT, P2P_PORT, startWanNetwork } from './wan-network.ts';
import { percentile, type Sample, sample, since, statusMb } from './wan-proc.ts';
import {
  type Counters,
  delta,
  type NodeTraffic,
  nodeTraffic,
  type PortCounts,
  portsSince,
  scrape,
} from './wan-traffic.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const CHAIN_ID = 'tillid-bench-wan';
/**
 * How long the nodes may take to connect fully. Bounded so the bench never hangs; at N = 31 on
 * 2 shared cores, start-up alone (31 processes loading) takes minutes.
 */
const CONNECT_BOUND_MS = 600_000;

export interface RunOptions {
  readonly n: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly rate: number;
  readonly municipalSeconds: number;
  readonly saturationSeconds: number;
  readonly batch: number;
  readonly maxPending: number;
  readonly blockIntervalMs?: number;
  readonly cpuProfDir?: string;
  /** Keep each node's output (its log) in this directory, as n<N>-node-<i>.log. */
  readonly logDir?: string;
  /** The nodes' log level (default info: start-up waits for the info line "node started"). */
  readonly logLevel?: string;
  readonly log: (line: string) => void;
  /** Told the hosts as soon as they exist, so a signal handler can remove them. */
  readonly onHosts: (wan: WanHosts | undefined) => void;
}

export interface PhaseResult {
  /** How long the load ran. */
  readonly seconds: number;
  /** The load plus the drain after it: the span the CPU and byte counts cover. */
  readonly wallSeconds: number;
  readonly accepted: number;
  readonly finalized: number;
  /** Finalized before the load stopped (the rest during the drain). */
  readonly finalizedInLoad: number;
  readonly notFinal: number;
  readonly latencies: number[];
  readonly blocks: number;
  readonly txPerBlock: number;
  readonly roundAbove0: number;
  readonly cost: Sample;
  readonly relayCpu: number;
  readonly rejections: Map<string, number>;
  /** Each node's bytes per block by cause, from its /metrics (wan-traffic.ts). */
  readonly traffic: NodeTraffic[];
}

export interface RunResult {
  readonly n: number;
  readonly startSeconds: number;
  readonly idleRss: number[];
  readonly peakRss: number[];
  readonly municipal: PhaseResult;
  readonly saturation: PhaseResult & { readonly tps: number };
  readonly roundChanges: number[];
  readonly caughtUpBySync: number;
}

/** Every node's counter `name` from its /metrics. */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const { n, log } = o;
  const dir = tempDirPlain(`tillid-bench-wan-${n}-`);
  let wan: WanHosts | undefined;
  // The follower polls node 1 until this is false: also when the scenario fails part-way.
  let following = true;
  try {
    const net = await startWanNetwork({
      n,
      delayMs: o.delayMs,
      jitterMs: o.jitterMs,
      chainId: CHAIN_ID,
      name: (i) => `Kommune ${i + 1}`,
      dir,
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      ...(o.blockIntervalMs !== undefined ? { blockIntervalMs: o.blockIntervalMs } : {}),
      ...(o.cpuProfDir ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${o.cpuProfDir}/n${n}` } } : {}),
      ...(o.logDir ? { logDir: o.logDir, logPrefix: `n${n}-` } : {}),
      onHosts: o.onHosts,
    });
    wan = net.wan;
    const { hosts, nodes, pids, url } = net;
    const alive = () => net.alive();
    const status = async (i: number) =>
      (await (await fetch(`${url(i)}/v1/status`)).json()) as { height: number; peers: unknown[] };
    const startSeconds = await net.waitConnected(CONNECT_BOUND_MS, (line) => log(`N=${n}: ${line}`));
    log(
      `N=${n}: all ${n} nodes up and fully connected in ${startSeconds.toFixed(0)} s; pids ${pids.join(' ')}`,
    );

    // ---- transactions, signed before the load starts -----------------------------------------
    const signers = Array.from({ length: 4 }, () => new Signer(generateKeyPair()));
    const build = transactions(CHAIN_ID);
    const tag = `${process.pid}-${n}`;
    const expiresAt = Date.now() + DEFAULT_PARAMS.maxTransactionTtlMs - 10 * 60_000;
    const sign = (i: number) =>
      JSON.stringify(
        build.anchor(
          signers[i % signers.length] as Signer,
          {
            hash: createHash('sha256').update(`${tag}:${i}`).digest('hex'),
            docType: 'status-report',
            ref: `urn:bench:${tag}:${i}`,
          },
          { nonce: `${tag}-${i}`, expiresAt },
        ),
      );
    const total = 4 * n + o.rate * o.municipalSeconds + 400 * o.saturationSeconds + 5000;
    const txs: string[] = Array.from({ length: total }, (_, i) => sign(i));
    let cursor = 0;

    // ---- the finality follower on node 1 -----------------------------------------------------
    const submittedAt = new Float64Array(total);
    const finalizedAt = new Float64Array(total);
    const blocks: { at: number; txs: number; round: number }[] = [];
    const prefix = `urn:bench:${tag}:`;
    let finalCount = 0;
    let next = 1;
    for (let attempt = 0; ; attempt++) {
      try {
        next = (await status(0)).height + 1;
        break;
      } catch (e) {
        if (attempt === 10) throw e;
        await sleep(1000);
      }
    }
    const follower = (async () => {
      while (following) {
        let r: Response;
        try {
          r = await fetch(`${url(0)}/v1/blocks/${next}`);
        } catch {
          await sleep(50);
          continue;
        }
        if (r.status === 404) {
          await r.arrayBuffer();
          await sleep(10);
          continue;
        }
        const block = (await r.json()) as {
          transactions: { payload: { ref?: unknown } }[];
          certificate: { round: number };
        };
        const now = performance.now();
        for (const tx of block.transactions) {
          const ref = tx.payload.ref;
          if (typeof ref === 'string' && ref.startsWith(prefix)) {
            const i = Number(ref.slice(prefix.length));
            if (finalizedAt[i] === 0) {
              finalizedAt[i] = now;
              finalCount++;
            }
          }
        }
        blocks.push({ at: now, txs: block.transactions.length, round: block.certificate.round });
        next++;
      }
    })();

    const rejections = new Map<string, number>();
    const post = async (node: number, indices: number[]): Promise<(string | undefined)[]> => {
      const single = indices.length === 1;
      const r = await fetch(`${url(node)}${single ? '/v1/transactions' : '/v1/transactions/batch'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: single
          ? (txs[indices[0] as number] as string)
          : `{"transactions":[${indices.map((i) => txs[i]).join(',')}]}`,
      });
      const body = (await r.json()) as { code?: string; results?: { code?: string }[] };
      if (single) return [r.status === 202 ? undefined : (body.code ?? `HTTP_${r.status}`)];
      return body.results
        ? body.results.map((x) => x.code)
        : indices.map(() => body.code ?? `HTTP_${r.status}`);
    };
    const waitFinal = async (indices: number[], ms: number) => {
      const from = performance.now();
      while (indices.some((i) => finalizedAt[i] === 0) && performance.now() - from < ms) {
        alive();
        await sleep(50);
      }
    };

    // ---- warm-up: every node has proposed or seen a few blocks --------------------------------
    const warm = Array.from({ length: 4 * n }, () => cursor++);
    await Promise.all(
      warm.map(async (i, k) => {
        for (let attempt = 0; attempt < 10; attempt++) {
          const code = await post(k % n, [i]).then(
            ([c]) => c,
            (e: Error) => `NETWORK_ERROR ${e.message}`,
          );
          if (code === undefined) return;
          log(`N=${n}: warm-up transaction refused by node ${(k % n) + 1}: ${code}`);
          await sleep(2000);
        }
      }),
    );
    await waitFinal(warm, 120_000);
    if (warm.some((i) => finalizedAt[i] === 0))
      throw new Error(`N=${n}: the warm-up transactions did not finalize in 120 s`);
    await sleep(3000);
    const idleRss = pids.map((p) => statusMb(p, 'VmRSS'));

    // The host's own kernel counts its API and p2p ports apart (wan-hosts.ts).
    const portSample = (): PortCounts[] =>
      hosts.map((h) => {
        const c = (wan as WanHosts).portCounts(h);
        const zero = { bytes: 0, packets: 0 };
        return { api: c.get(API_PORT) ?? zero, p2p: c.get(P2P_PORT) ?? zero };
      });
    const phase = async (
      name: string,
      seconds: number,
      load: (until: number, accepted: number[]) => Promise<void>,
    ): Promise<PhaseResult> => {
      const scrapeAll = () =>
        Promise.all(hosts.map((_, i) => scrape(url(i)).catch((): Counters => new Map())));
      const countersBefore = await scrapeAll();
      const portsBefore = portSample();
      const before = sample(pids);
      const relayBefore = sample([wan?.relayPid as number]);
      const fromBlock = blocks.length;
      const start = performance.now();
      const accepted: number[] = [];
      await load(start + seconds * 1000, accepted);
      const loadEnd = performance.now();
      await waitFinal(accepted, 60_000);
      const cost = since(before, sample(pids));
      const ports = portSample().map((after, i) => portsSince(portsBefore[i] as PortCounts, after));
      const countersAfter = await scrapeAll();
      const relayCpu = (since(relayBefore, sample([wan?.relayPid as number])).cpu[0] as number) ?? 0;
      const mine = blocks.slice(fromBlock);
      const latencies = accepted
        .map((i) =>
          finalizedAt[i] ? (finalizedAt[i] as number) - (submittedAt[i] as number) : Number.POSITIVE_INFINITY,
        )
        .sort((a, b) => a - b);
      const finalized = accepted.filter((i) => finalizedAt[i] !== 0).length;
      log(
        `N=${n} ${name}: ${accepted.length} accepted, ${finalized} final, p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, ${mine.length} blocks, ${((loadEnd - start) / 1000).toFixed(0)} s`,
      );
      return {
        seconds: (loadEnd - start) / 1000,
        wallSeconds: (performance.now() - start) / 1000,
        accepted: accepted.length,
        finalized,
        finalizedInLoad: accepted.filter((i) => finalizedAt[i] !== 0 && (finalizedAt[i] as number) <= loadEnd)
          .length,
        notFinal: accepted.length - finalized,
        latencies,
        blocks: mine.length,
        txPerBlock: mine.length ? mine.reduce((a, b) => a + b.txs, 0) / mine.length : 0,
        roundAbove0: mine.filter((b) => b.round > 0).length,
        cost,
        relayCpu,
        rejections: new Map(rejections),
        traffic: countersAfter.map((after, i) =>
          nodeTraffic(delta(countersBefore[i] as Counters, after), mine.length, {
            bytes: cost.bytes[i] as number,
            packets: cost.packets[i] as number,
            ...(ports[i] as PortCounts),
          }),
        ),
      };
    };
    const note = (code: string, k = 1) => rejections.set(code, (rejections.get(code) ?? 0) + k);

    // ---- municipal: open loop, one transaction per request ------------------------------------
    const municipal = await phase('municipal', o.municipalSeconds, async (until, accepted) => {
      const start = performance.now();
      const inFlight: Promise<void>[] = [];
      let sent = 0;
      while (performance.now() < until) {
        const due = Math.floor(((performance.now() - start) / 1000) * o.rate) + 1;
        for (; sent < due && cursor < total; sent++) {
          const i = cursor++;
          submittedAt[i] = performance.now();
          inFlight.push(
            post(sent % n, [i]).then(
              ([code]) => {
                if (code === undefined) accepted.push(i);
                else note(code);
              },
              () => {
                note('NETWORK_ERROR');
              },
            ),
          );
        }
        await sleep(5);
      }
      await Promise.all(inFlight);
    });
    rejections.clear();

    // ---- saturation: closed loop, batches, bounded backlog ------------------------------------
    const saturation = await phase('saturation', o.saturationSeconds, async (until, accepted) => {
      let inFlight = 0;
      let turn = 0;
      const finalBefore = finalCount;
      const retry: number[] = [];
      // Submitted and not yet final: what the nodes' mempools and the wire hold of this phase.
      const pending = () => inFlight + accepted.length - (finalCount - finalBefore);
      const sender = async () => {
        while (performance.now() < until) {
          if (pending() + o.batch > o.maxPending) {
            await sleep(10);
            continue;
          }
          const indices = retry.splice(0, o.batch);
          while (indices.length < o.batch && cursor < total) indices.push(cursor++);
          if (indices.length === 0) return;
          const at = performance.now();
          for (const i of indices) submittedAt[i] = at;
          inFlight += indices.length;
          let full = false;
          try {
            const codes = await post(turn++ % n, indices);
            codes.forEach((code, k) => {
              const i = indices[k] as number;
              if (code === undefined) accepted.push(i);
              else {
                note(code);
                if (code === 'MEMPOOL_FULL') {
                  retry.push(i);
                  full = true;
                }
              }
            });
          } catch {
            note('NETWORK_ERROR', indices.length);
            retry.push(...indices);
            full = true;
          } finally {
            inFlight -= indices.length;
          }
          if (full) await sleep(100);
        }
      };
      await Promise.all(Array.from({ length: 2 }, sender));
    });
    const roundChanges = await Promise.all(
      hosts.map((_, i) => counter(url(i), 'tillid_consensus_round_changes_total').catch(() => Number.NaN)),
    );
    const peakRss = pids.map((p) => statusMb(p, 'VmHWM'));
    following = false;
    await follower;
    net.stopping = true;
    if (o.cpuProfDir) for (const child of nodes) child?.kill('SIGTERM');
    if (o.cpuProfDir)
      await Promise.all(
        nodes.map((c) => new Promise((r) => (c?.exitCode !== null ? r(0) : c.once('exit', r)))),
      );
    return {
      n,
      startSeconds,
      idleRss,
      peakRss,
      municipal,
      saturation: { ...saturation, tps: saturation.finalizedInLoad / saturation.seconds },
      roundChanges,
      caughtUpBySync: net.caughtUpBySync(),
    };
  } finally {
    following = false;
    await wan?.close();
    o.onHosts(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
