/**
 * central's gateway for `bench:national`: what the gateway process costs, measured from outside it
 * (/proc and the kernel's socket counters), in front of the operator's four shared nodes.
 *
 * A network of four node processes with the production empty-block interval, the gateway in front
 * (`../gateway-rig.ts`: the real gateway process, token-service emulator, one case system), then
 * three windows on the gateway process:
 *
 * - `background`: nothing asked of it for `idleSeconds` — CPU per second, bytes sent per second;
 * - `submit`: `count` authenticated `POST /v1/contracts` (the gateway verifies the token, checks
 *   the agreement and privileges, derives the pseudonym, signs and submits), until every one is
 *   final on the nodes;
 * - `read`: `count` authenticated `GET /v1/contracts/:id` (the gateway reads from a node, checks
 *   the contract's party, verifies the latest block's commit certificate).
 *
 * Per call: the window's CPU, bytes sent (to callers and to nodes) and disk growth of its folder
 * (audit log, access log) minus what the background would have used over the window's seconds.
 * Every call a case system makes through the gateway is one of these two kinds; a submission of
 * any class (create, activate, report, amend, anchor) is taken to cost what a create costs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import {
  editConfigs,
  initNetworkDir,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
} from '../../fixtures/processes.ts';
import { startGatewayRig } from '../gateway-rig.ts';
import { tempDirPlain } from '../util.ts';
import type { GatewayUnits } from './cost.ts';
import { du } from './measure.ts';

export interface GatewayRunOptions {
  readonly count: number;
  readonly idleSeconds: number;
  readonly basePort: number;
  readonly log: (line: string) => void;
  readonly started: Set<NodeProcess>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in seconds (proc_pid_stat(5)). */
export function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
export const memoryOf = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) /
  1024;

/** bytes_sent over every established TCP socket of `pid` (to its callers and to the nodes). */
export function bytesSentOf(pid: number): number {
  const lines = execFileSync('ss', ['-tinpH', 'state', 'established'], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  }).split('\n');
  let sent = 0;
  for (let i = 0; i < lines.length - 1; i++)
    if (lines[i]?.includes(`pid=${pid},`))
      sent += Number(/bytes_sent:(\d+)/.exec(lines[i + 1] as string)?.[1] ?? 0);
  return sent;
}

interface Sample {
  cpu: number;
  bytes: number;
  disk: number;
  at: number;
}

export async function measureGateway(o: GatewayRunOptions): Promise<GatewayUnits> {
  const dir = tempDirPlain('tillid-bench-national-gateway-');
  const chainId = 'tillid-bench-national-central';
  let nodes: NodeProcess[] = [];
  let rig: Awaited<ReturnType<typeof startGatewayRig>> | undefined;
  try {
    const configs = await initNetworkDir(join(dir, 'network'), 4, chainId, o.basePort);
    editConfigs(configs, (config) => {
      config.blockIntervalMs = 250;
      // Production: an empty block every ten minutes, so the background is a quiet chain's.
      config.emptyBlockIntervalMs = 600_000;
      config.logLevel = 'info';
    });
    const starting = configs.map((c) => startNodeProcess(c));
    for (const s of starting) void s.then((n) => o.started.add(n)).catch(() => {});
    nodes = await Promise.all(starting);
    const genesis = JSON.parse(readFileSync(join(dir, 'network', 'genesis.json'), 'utf8'));
    const municipality = genesis.authorities[0].cvr as string;
    rig = await startGatewayRig({
      dir,
      genesisFile: join(dir, 'network', 'genesis.json'),
      municipalities: genesis.authorities.map((a: { cvr: string }, i: number) => ({
        cvr: a.cvr,
        nodes: [nodes[i]?.url as string],
      })),
      municipality,
      authorityKey: readNodeConfigKey(configs[0] as string),
      concurrency: 16,
    });
    await rig.defineTemplate();
    const gw = rig;
    const sample = (): Sample => ({
      cpu: cpuOf(gw.pid),
      bytes: bytesSentOf(gw.pid),
      // The gateway's own files: audit log, access log, key store (the network folder is the nodes').
      disk: du(dir) - du(join(dir, 'network')),
      at: performance.now(),
    });
    // A few calls first, so connections to the nodes and the JWKS are in place before measuring.
    for (let i = 0; i < 8; i++) await gw.call('POST', '/v1/contracts?wait=true', gw.contract(i));
    await sleep(3000);

    const b0 = sample();
    await sleep(o.idleSeconds * 1000);
    const b1 = sample();
    const seconds = (b1.at - b0.at) / 1000;
    const background = {
      cpuSeconds: (b1.cpu - b0.cpu) / seconds,
      bytesSent: Math.max(0, b1.bytes - b0.bytes) / seconds,
      rssMb: memoryOf(gw.pid, 'VmRSS'),
    };
    o.log(`central gateway: background ${(background.cpuSeconds * 3600).toFixed(1)} CPU s per hour`);

    /** A window of `count` calls made `calls` at a time; per call, over the background. */
    const window = async (call: (i: number) => Promise<void>, after: () => Promise<void>) => {
      const s0 = sample();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < o.count) await call(next++);
        }),
      );
      await after();
      const s1 = sample();
      const secs = (s1.at - s0.at) / 1000;
      return {
        cpuSeconds: Math.max(0, s1.cpu - s0.cpu - background.cpuSeconds * secs) / o.count,
        bytesSent: Math.max(0, s1.bytes - s0.bytes - background.bytesSent * secs) / o.count,
        diskBytes: Math.max(0, s1.disk - s0.disk) / o.count,
      };
    };
    const ids: string[] = [];
    let lastHash = '';
    const submit = await window(
      async (i) => {
        const r = await gw.call('POST', '/v1/contracts', gw.contract(1000 + i));
        if (r.status !== 202)
          throw new Error(`gateway submission refused: ${r.status} ${JSON.stringify(r.body)}`);
        ids.push((r.body.id ?? r.body.hash) as string);
        lastHash = r.body.hash as string;
      },
      async () => {
        const deadline = performance.now() + 180_000;
        for (;;) {
          const v = (await (await fetch(`${nodes[0]?.url}/v1/transactions/${lastHash}`)).json()) as {
            status?: string;
          };
          if (v.status === 'finalized') return;
          if (v.status === 'rejected' || performance.now() > deadline)
            throw new Error(`central gateway: the submissions are not final (${JSON.stringify(v)})`);
          await sleep(100);
        }
      },
    );
    const read = await window(
      async (i) => {
        const r = await gw.call('GET', `/v1/contracts/${ids[i % ids.length]}`);
        if (r.status !== 200) throw new Error(`gateway read refused: ${r.status} ${JSON.stringify(r.body)}`);
      },
      async () => {},
    );
    const units: GatewayUnits = {
      background,
      perSubmission: submit,
      perRead: read,
      peakRssMb: memoryOf(gw.pid, 'VmHWM'),
      calls: o.count,
    };
    o.log(
      `central gateway: ${(submit.cpuSeconds * 1000).toFixed(2)} CPU ms per submission, ${(read.cpuSeconds * 1000).toFixed(2)} per read; RSS ${background.rssMb.toFixed(0)} / ${units.peakRssMb.toFixed(0)} MB`,
    );
    return units;
  } finally {
    await rig?.stop().catch(() => {});
    await Promise.all(nodes.map((n) => stopNodeProcess(n, 'SIGTERM')));
    for (const n of nodes) o.started.delete(n);
    rmSync(dir, { recursive: true, force: true });
  }
}
