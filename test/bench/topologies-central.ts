/**
 * central for `bench:topologies`: the operator's `n` shared nodes, each a host of its own over the
 * emulated WAN, set up as bench:wan's (wan-network.ts), and the gateway in front of them as
 * the municipalities reach it (`gateway-rig.ts`: the real gateway process). The gateway runs in
 * this machine's own namespace — a host of its own too — and reaches the nodes only at their
 * public addresses, through the delaying relay, as every other host does.
 *
 * Load: the municipal rate of authenticated `POST /v1/contracts?wait=true` calls (open loop): the
 * gateway verifies the caller, signs, submits, and answers once it has verified the commit
 * certificate of the block holding the transaction — so the latency is what a case system sees.
 * Measured per node (from /proc, as bench:wan): CPU seconds and bytes through its host's
 * interface per block, RSS; and the gateway process's CPU, bytes sent and RSS per call.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import type { WanHosts } from '../fixtures/wan-hosts.ts';
import { startGatewayRig } from './gateway-rig.ts';
import { bytesSentOf, cpuOf, memoryOf } from './national/gateway.ts';
import { tempDirPlain } from './util.ts';
import { startWanNetwork } from './wan-network.ts';
import { percentile, type Sample, sample, since, statusMb } from './wan-proc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CentralOptions {
  readonly n: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly rate: number;
  readonly seconds: number;
  readonly log: (line: string) => void;
  readonly onHosts: (wan: WanHosts | undefined) => void;
}

export interface CentralResult {
  readonly n: number;
  readonly calls: number;
  readonly answered: number;
  /** Call to answer (final, certificate verified by the gateway), sorted; Infinity for a failure. */
  readonly latencies: number[];
  readonly blocks: number;
  readonly wallSeconds: number;
  readonly cost: Sample;
  readonly idleRss: number[];
  readonly peakRss: number[];
  readonly gateway: { cpuSeconds: number; bytesSent: number; rssMb: number; peakRssMb: number };
  readonly failures: Map<string, number>;
}

export async function runCentral(o: CentralOptions): Promise<CentralResult> {
  const { n, log } = o;
  const dir = tempDirPlain(`tillid-bench-topologies-central-`);
  let wan: WanHosts | undefined;
  let rig: Awaited<ReturnType<typeof startGatewayRig>> | undefined;
  try {
    // The hosts, `network init`, the nodes and the wait until all are connected: as bench:wan's.
    const net = await startWanNetwork({
      n,
      delayMs: o.delayMs,
      jitterMs: o.jitterMs,
      chainId: 'tillid-bench-central',
      name: (i) => `Drift ${i + 1}`,
      dir,
      onHosts: o.onHosts,
    });
    wan = net.wan;
    const { configs, pids, url } = net;
    const status = async (i: number) =>
      (await (await fetch(`${url(i)}/v1/status`)).json()) as { height: number; peers: unknown[] };
    const seconds = await net.waitConnected(600_000, (line) => log(`central: ${line}`));
    log(`central: ${n} shared nodes connected in ${seconds.toFixed(0)} s`);
    const genesisFile = join(dir, 'net', 'genesis.json');
    const genesis = JSON.parse(readFileSync(genesisFile, 'utf8'));
    rig = await startGatewayRig({
      dir,
      genesisFile,
      municipalities: genesis.authorities.map((a: { cvr: string }, i: number) => ({
        cvr: a.cvr,
        nodes: [url(i)],
      })),
      municipality: genesis.authorities[0].cvr as string,
      authorityKey: readNodeConfigKey(configs[0] as string),
      concurrency: 256,
    });
    await rig.defineTemplate();
    const gw = rig;
    // Warm-up: connections from the gateway to every node, its JWKS, every node a few blocks.
    for (let i = 0; i < 4 * n; i++) await gw.call('POST', '/v1/contracts?wait=true', gw.contract(i));
    await sleep(3000);
    const idleRss = pids.map((p) => statusMb(p, 'VmRSS'));

    const before = sample(pids);
    const g0 = { cpu: cpuOf(gw.pid), bytes: bytesSentOf(gw.pid) };
    const h0 = (await status(0)).height;
    const start = performance.now();
    const calls: Promise<number>[] = [];
    const failures = new Map<string, number>();
    const total = Math.round(o.rate * o.seconds);
    for (let k = 0; k < total; k++) {
      const wait = start + (k * 1000) / o.rate - performance.now();
      if (wait > 0) await sleep(wait);
      const t0 = performance.now();
      calls.push(
        gw.call('POST', '/v1/contracts?wait=true', gw.contract(10_000 + k)).then(
          (r) => {
            if (r.status === 200) return performance.now() - t0;
            const code = String(r.body.code ?? `HTTP_${r.status}`);
            failures.set(code, (failures.get(code) ?? 0) + 1);
            return Number.POSITIVE_INFINITY;
          },
          (e: Error) => {
            failures.set(e.message, (failures.get(e.message) ?? 0) + 1);
            return Number.POSITIVE_INFINITY;
          },
        ),
      );
    }
    const latencies = (await Promise.all(calls)).sort((a, b) => a - b);
    const wallSeconds = (performance.now() - start) / 1000;
    const cost = since(before, sample(pids));
    const blocks = (await status(0)).height - h0;
    const gateway = {
      cpuSeconds: cpuOf(gw.pid) - g0.cpu,
      bytesSent: bytesSentOf(gw.pid) - g0.bytes,
      rssMb: memoryOf(gw.pid, 'VmRSS'),
      peakRssMb: memoryOf(gw.pid, 'VmHWM'),
    };
    log(
      `central: ${total} calls, p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, ${blocks} blocks, gateway ${((1000 * gateway.cpuSeconds) / total).toFixed(2)} CPU ms per call`,
    );
    return {
      n,
      calls: total,
      answered: latencies.filter(Number.isFinite).length,
      latencies,
      blocks,
      wallSeconds,
      cost,
      idleRss,
      peakRss: pids.map((p) => statusMb(p, 'VmHWM')),
      gateway,
      failures,
    };
  } finally {
    await rig?.stop().catch(() => {});
    await wan?.close();
    o.onHosts(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
