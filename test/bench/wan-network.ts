/**
 * The network bench:wan and bench:topologies' central run on: `n` authorities, each a real node
 * process in its own network namespace reaching the others only through the delaying relay
 * (test/fixtures/wan-hosts.ts), configured by one `tillid network init --member Name=<address>` as
 * separate hosts are (API 7101 and p2p 7201 on every host), all started at once as a network comes
 * up. `waitConnected` waits, bounded, until every node is connected to every other, and says which
 * were not when the bound passes.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { peerIdForPublicKey } from '../../node/p2p/identity.ts';
import { CLI } from '../fixtures/processes.ts';
import { startWanHosts, type WanHost, type WanHosts } from '../fixtures/wan-hosts.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const API_PORT = 7101;
export const P2P_PORT = 7201;

export interface WanNetworkOptions {
  readonly n: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly chainId: string;
  /** Member i's name in the genesis (0-based i). */
  readonly name: (i: number) => string;
  /** Where the network's files go (init's output). */
  readonly dir: string;
  /** The nodes' log level (default info: start-up waits for the info line "node started"). */
  readonly logLevel?: string;
  readonly blockIntervalMs?: number;
  /** Extra environment for every node (e.g. NODE_OPTIONS for --cpu-prof). */
  readonly env?: NodeJS.ProcessEnv;
  /** Keep each node's output in this directory as `<logPrefix>node-<i>.log`. */
  readonly logDir?: string;
  readonly logPrefix?: string;
  /** Told the hosts as soon as they exist, so a signal handler can remove them. */
  readonly onHosts: (wan: WanHosts | undefined) => void;
}

export interface WanNetwork {
  readonly wan: WanHosts;
  readonly hosts: readonly WanHost[];
  /** Node i's API at its public address (through the relay). */
  url(i: number): string;
  /** Each node's config file. */
  readonly configs: readonly string[];
  readonly nodes: readonly ChildProcess[];
  readonly pids: readonly number[];
  /** When the nodes were started (performance.now()). */
  readonly startedAt: number;
  /** Lines `caught up by block sync` the nodes logged so far. */
  caughtUpBySync(): number;
  /** Throws if a node exited (unless `stopping` was set). */
  alive(): void;
  /** Set before stopping nodes on purpose: their exit is no longer an error. */
  stopping: boolean;
  /**
   * Waits until every node is connected to all n − 1 others; returns the seconds since start.
   * After `boundMs` it throws, naming each node that lacked peers and which. `progress` gets the
   * peers per node every `everyMs`.
   */
  waitConnected(boundMs: number, progress?: (line: string) => void, everyMs?: number): Promise<number>;
}

/** Starts the hosts and the nodes; on an error everything started is removed. */
export async function startWanNetwork(o: WanNetworkOptions): Promise<WanNetwork> {
  const wan = await startWanHosts(o.n, [API_PORT, P2P_PORT], { delayMs: o.delayMs, jitterMs: o.jitterMs });
  o.onHosts(wan);
  try {
    const hosts = wan.hosts;
    const host = (i: number) => hosts[i] as WanHost;
    const url = (i: number) => `http://${host(i).publicIp}:${API_PORT}`;
    const args = ['network', 'init', '--out', join(o.dir, 'net'), '--chain-id', o.chainId];
    args.push('--base-port', String(API_PORT));
    hosts.forEach((h, i) => {
      args.push('--municipality', `${o.name(i)}:${29189846 + i}`, '--member', `${o.name(i)}=${h.publicIp}`);
    });
    const init = JSON.parse((await run(process.execPath, [CLI, ...args])).stdout) as { nodes: string[] };
    const configs = init.nodes.map((d) => join(d, 'config.json'));
    for (const file of configs) {
      const config = JSON.parse(readFileSync(file, 'utf8'));
      config.logLevel = o.logLevel ?? 'info'; // startNode waits for the info line "node started"
      if (o.blockIntervalMs !== undefined) config.blockIntervalMs = o.blockIntervalMs;
      writeFileSync(file, JSON.stringify(config, null, 2));
    }
    const peerIds = await Promise.all(configs.map((c) => peerIdForPublicKey(readNodeConfigKey(c).publicKey)));

    const startedAt = performance.now();
    const nodes = await Promise.all(configs.map((c, i) => wan.startNode(host(i), c, o.env ?? {})));
    let synced = 0;
    let died: string | undefined;
    if (o.logDir) mkdirSync(o.logDir, { recursive: true });
    nodes.forEach((child, i) => {
      let tail = '';
      if (o.logDir) {
        const file = join(o.logDir, `${o.logPrefix ?? ''}node-${i + 1}.log`);
        writeFileSync(file, '');
        child.stdout?.on('data', (d: Buffer) => appendFileSync(file, d));
        child.stderr?.on('data', (d: Buffer) => appendFileSync(file, d));
      }
      child.stdout?.on('data', (d: Buffer) => {
        synced += d.toString().split('caught up by block sync').length - 1;
      });
      child.stderr?.on('data', (d: Buffer) => {
        tail = (tail + d.toString()).slice(-2000);
      });
      child.once('exit', (code, signal) => {
        died ??= `node ${i + 1} exited (${code ?? signal}) during the run: ${tail}`;
      });
    });
    const network: WanNetwork = {
      wan,
      hosts,
      url,
      configs,
      nodes,
      pids: nodes.map((c) => c.pid as number),
      startedAt,
      caughtUpBySync: () => synced,
      stopping: false,
      alive() {
        if (died !== undefined && !network.stopping) throw new Error(died);
      },
      async waitConnected(boundMs, progress, everyMs = 30_000) {
        // A node still busy starting (every other one is too, on the same cores) may drop a
        // request: it counts as knowing no peer yet (null), and the wait is bounded.
        const peersOf = (i: number) =>
          fetch(`${url(i)}/v1/status`).then(
            async (r) => ((await r.json()) as { peers: string[] }).peers,
            () => null,
          );
        let reported = performance.now();
        for (;;) {
          network.alive();
          const peers = await Promise.all(hosts.map((_, i) => peersOf(i)));
          if (peers.every((p) => p !== null && p.length >= o.n - 1))
            return (performance.now() - startedAt) / 1000;
          const counts = peers.map((p) => (p === null ? '?' : String(p.length))).join(' ');
          if (performance.now() - startedAt > boundMs)
            throw new Error(
              `not every node reaches all ${o.n - 1} others after ${(boundMs / 1000).toFixed(0)} s (peers per node: ${counts}); ${missing(peers, peerIds)}`,
            );
          if (progress && performance.now() - reported > everyMs) {
            progress(`peers per node ${counts}`);
            reported = performance.now();
          }
          await sleep(1000);
        }
      },
    };
    return network;
  } catch (e) {
    await wan.close();
    o.onHosts(undefined);
    throw e;
  }
}

/** Which node lacks which peers (1-based node numbers), for the failure message. */
function missing(peers: readonly (string[] | null)[], peerIds: readonly string[]): string {
  const lines = peers.flatMap((p, i) => {
    if (p === null) return [`node ${i + 1} did not answer`];
    const have = new Set(p);
    const lacks = peerIds.flatMap((id, k) => (k !== i && !have.has(id) ? [k + 1] : []));
    return lacks.length ? [`node ${i + 1} lacks ${lacks.join(',')}`] : [];
  });
  return lines.join('; ');
}
