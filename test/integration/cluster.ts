/**
 * A Tillid network in Docker containers for integration tests and the topology benchmark, made
 * with testcontainers (Ryuk disabled: no registry here for its image; every container and network
 * this creates is removed on `stop()` and, failing that, when the process exits).
 *
 * Two Docker networks per cluster:
 * - `p2p`, a user-defined bridge on which each node's container is reachable by its id (a network
 *   alias): the nodes' peers are `/dns4/<id>/tcp/7201/p2p/<peer id>` (deploy/init.ts), so a node
 *   keeps its identity across restarts and reconnects that change its IP address.
 * - `ctl`, a bridge with inter-container traffic disabled that only the test uses to reach each
 *   node's API (the host talks to the container's address on it). A node cut off from `p2p` by
 *   `docker network disconnect` therefore stays observable without being able to reach any peer.
 *
 * Each node's directory (key, config, genesis, LevelDB store) is a host directory bind-mounted at
 * /var/lib/tillid, so the chain survives `docker kill`/`start` and its size can be measured.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import {
  type ContainerNetworkOptions,
  type ContainerNode,
  type InitializedNetwork,
  type InitializedNode,
  initContainerNetwork,
} from '../../deploy/init.ts';
import { ensureImages, NODE_IMAGE_TAG } from '../../docker/build-images.ts';
import { writePlaintextKeyFile } from '../../node/custody/key-file.ts';
import { peerIdForPublicKey } from '../../node/p2p/identity.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const execFileAsync = promisify(execFile);

/** Runs the docker CLI; throws with its stderr on failure. */
export function docker(...args: string[]): Promise<string> {
  return dockerWithin(120_000, ...args);
}

/** `docker(...)` for a command that may run longer than two minutes (a one-shot container). */
export async function dockerWithin(timeoutMs: number, ...args: string[]): Promise<string> {
  try {
    return (await execFileAsync('docker', args, { timeout: timeoutMs })).stdout.trim();
  } catch (e) {
    throw new Error(`docker ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
}

export interface ClusterOptions {
  readonly authorities: number;
  readonly observers?: number;
  /** Also start a node whose key is in neither the genesis nor any allow-list. */
  readonly intruder?: boolean;
  readonly chainId?: string;
  readonly blockIntervalMs?: number;
  /** An accelerated business clock, so monthly due dates come within a test; block time otherwise. */
  readonly businessDaysPerBlock?: number;
  /** Consensus timeouts; FAST_TIMEOUTS unless given, 'node-defaults' for the node's own. */
  readonly timeouts?:
    | { proposeMs: number; prevoteMs: number; precommitMs: number; perRoundMs: number }
    | 'node-defaults';
  readonly verifyWorkers?: number;
  /** Container resource limits, e.g. for the benchmark. */
  readonly memoryMb?: number;
  /** The nodes' image; NODE_IMAGE_TAG (built when missing or stale) unless given. */
  readonly image?: string;
  /** What writes the nodes' directories; deploy/init.ts unless given (e.g. a previous release's). */
  readonly init?: (o: ContainerNetworkOptions) => Promise<InitializedNetwork>;
}

// biome-ignore lint/suspicious/noExplicitAny: API bodies are checked by the tests, not by types
export type Json = any;

export const FAST_TIMEOUTS = { proposeMs: 1000, prevoteMs: 500, precommitMs: 500, perRoundMs: 250 };

export interface ClusterNode extends InitializedNode {
  readonly container: string;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly run = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'tillid-cluster-'));
  readonly chainId: string;
  #p2p?: StartedNetwork;
  readonly #ctl: string;
  readonly #side: string;
  readonly #containers = new Map<string, StartedTestContainer>();
  readonly #ips = new Map<string, string>();
  /** Nodes the test stopped on purpose. */
  readonly #down = new Set<string>();
  /** Other containers on this cluster's networks (gateway, token service), removed by `stop()`. */
  readonly #adopted: string[] = [];
  #stopped = false;

  readonly options: ClusterOptions;

  private constructor(options: ClusterOptions) {
    this.options = options;
    this.chainId = options.chainId ?? 'tillid-containers';
    this.#ctl = `tillid-it-${this.run}-ctl`;
    this.#side = `tillid-it-${this.run}-side`;
  }

  /**
   * Builds the node image if it is missing or stale, generates the network and starts every node;
   * resolves once every API answers. Throws (with how to start Docker) if Docker is not reachable.
   */
  static async start(options: ClusterOptions): Promise<Cluster> {
    ensureImages(['node']);
    const cluster = new Cluster(options);
    const cleanup = () => cluster.#removeSync();
    process.once('exit', cleanup);
    try {
      await cluster.#start();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  async #start(): Promise<void> {
    const o = this.options;
    const spec: ContainerNode[] = [
      ...Array.from({ length: o.authorities }, (_, i) => ({
        id: `node-${i + 1}`,
        name: `Kommune ${String(i + 1).padStart(2, '0')}`,
        cvr: String(29189846 + i),
        role: 'authority' as const,
      })),
      ...Array.from({ length: o.observers ?? 0 }, (_, i) => ({
        id: `observer-${i + 1}`,
        name: `Observer ${String(i + 1).padStart(2, '0')}`,
        role: 'observer' as const,
      })),
    ];
    const network = await (o.init ?? initContainerNetwork)({
      out: this.dir,
      chainId: this.chainId,
      nodes: spec,
      blockIntervalMs: o.blockIntervalMs ?? 200,
      // The suites watch heights advance without transactions: empty blocks at the block pace.
      emptyBlockIntervalMs: o.blockIntervalMs ?? 200,
      ...(o.businessDaysPerBlock ? { businessDaysPerBlock: o.businessDaysPerBlock } : {}),
      ...(o.timeouts === 'node-defaults' ? {} : { timeouts: o.timeouts ?? FAST_TIMEOUTS }),
      logLevel: 'info',
      owner: { uid: 1000, gid: 1000 },
    });
    const nodes: InitializedNode[] = [...network.nodes];
    if (o.intruder) nodes.push(await this.#intruder(network.nodes));
    this.#p2p = await new Network().start();
    await docker('network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', this.#ctl);
    await Promise.all(
      nodes.map(async (n) => {
        const container = `tillid-it-${this.run}-${n.id}`;
        this.nodes.push({ ...n, container });
        this.#containers.set(n.id, await this.#create(n, container));
        await docker('network', 'connect', this.#ctl, container);
      }),
    );
    this.nodes.sort((a, b) => nodes.findIndex((n) => n.id === a.id) - nodes.findIndex((n) => n.id === b.id));
    await Promise.all(this.nodes.map((n) => this.waitHealthy(n.id)));
  }

  /** A node with its own key, the network's genesis and the authorities as peers, allowed by nobody. */
  async #intruder(nodes: readonly InitializedNode[]): Promise<InitializedNode> {
    const dir = join(this.dir, 'intruder');
    mkdirSync(dir, { mode: 0o700 });
    const key = generateKeyPair();
    writePlaintextKeyFile(join(dir, 'key.json'), key);
    // The first authority's config, with every authority as a peer: it knows where everyone is.
    const first = nodes[0] as InitializedNode;
    const config = JSON.parse(readFileSync(join(first.dir, 'config.json'), 'utf8'));
    config.name = 'Intruder';
    config.p2p.peers = [...config.p2p.peers, `/dns4/${first.id}/tcp/7201/p2p/${first.peerId}`];
    config.p2p.observers = [];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
    copyFileSync(join(first.dir, 'genesis.json'), join(dir, 'genesis.json'));
    if (process.getuid?.() === 0)
      for (const f of ['', 'key.json', 'config.json', 'genesis.json']) chownSync(join(dir, f), 1000, 1000);
    return {
      id: 'intruder',
      name: 'Intruder',
      role: 'observer',
      dir,
      publicKey: key.publicKey,
      peerId: await peerIdForPublicKey(key.publicKey),
    };
  }

  async #create(
    n: InitializedNode,
    name: string,
    image = this.options.image ?? NODE_IMAGE_TAG,
  ): Promise<StartedTestContainer> {
    let container = new GenericContainer(image)
      .withName(name)
      .withNetwork(this.#p2p as StartedNetwork)
      .withNetworkAliases(n.id)
      .withBindMounts([{ source: n.dir, target: '/var/lib/tillid', mode: 'rw' }])
      .withEnvironment({
        TILLID_LOG_LEVEL: 'info',
        ...(this.options.verifyWorkers !== undefined
          ? { TILLID_VERIFY_WORKERS: String(this.options.verifyWorkers) }
          : {}),
      })
      .withLabels({ 'org.tillid.test-run': this.run })
      .withWaitStrategy(Wait.forLogMessage(/"node started"/))
      .withStartupTimeout(90_000);
    // As root the directories were handed to the image's user (1000); otherwise run as ourselves.
    if (process.getuid?.() !== 0)
      container = container.withUser(`${process.getuid?.()}:${process.getgid?.()}`);
    if (this.options.memoryMb)
      container = container.withResourcesQuota({ memory: this.options.memoryMb / 1024 });
    return container.start();
  }

  /** The p2p network, on which every node is reachable by its id. */
  get p2pNetwork(): string {
    return (this.#p2p as StartedNetwork).getName();
  }

  /** The control network, on which the test reaches containers at their address. */
  get ctlNetwork(): string {
    return this.#ctl;
  }

  /** Removes the container `name` with the cluster (before its networks). */
  adopt(name: string): void {
    this.#adopted.push(name);
  }

  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get authorities(): ClusterNode[] {
    return this.nodes.filter((n) => n.role === 'authority');
  }

  /** The node's API, at its address on the control network (looked up again after restarts). */
  async url(id: string): Promise<string> {
    let ip = this.#ips.get(id);
    if (!ip) {
      ip = await docker(
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${this.#ctl}").IPAddress}}`,
        this.node(id).container,
      );
      if (!ip) throw new Error(`${id} has no address on the control network (not running?)`);
      this.#ips.set(id, ip);
    }
    return `http://${ip}:7101`;
  }

  async get(id: string, path: string, timeoutMs = 3000): Promise<Json> {
    const response = await fetch(`${await this.url(id)}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status === 404) {
      await response.arrayBuffer();
      return undefined;
    }
    if (!response.ok) throw new Error(`${id} GET ${path}: HTTP ${response.status}`);
    return response.json();
  }

  async post(id: string, path: string, body: unknown, timeoutMs = 10_000): Promise<Json> {
    const response = await fetch(`${await this.url(id)}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.json();
  }

  status(id: string): Promise<Json> {
    return this.get(id, '/v1/status');
  }

  /** Finalized height per node; undefined for a node that does not answer. */
  async heights(ids = this.nodes.map((n) => n.id)): Promise<(number | undefined)[]> {
    return Promise.all(
      ids.map((id) =>
        this.status(id).then(
          (s) => s.finalizedHeight as number,
          () => undefined,
        ),
      ),
    );
  }

  /**
   * Throws a NodeDied error, with the end of its log, for a node in `ids` whose container stopped
   * without the test stopping it (a crashed node should fail a test at once, not time it out).
   */
  async assertAlive(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.#down.has(id)) continue;
      const state = await docker(
        'inspect',
        '-f',
        '{{.State.Status}} {{.State.ExitCode}}',
        this.node(id).container,
      );
      if (state.startsWith('running') || state.startsWith('paused')) continue;
      const tail = (await this.logs(id)).trim().split('\n').slice(-12).join('\n');
      throw new NodeDied(`${id} stopped on its own (${state}); the end of its log:\n${tail}`);
    }
  }

  async waitHealthy(id: string, timeoutMs = 60_000): Promise<void> {
    await waitUntil(
      async () => {
        if (
          await this.get(id, '/healthz', 2000).then(
            () => true,
            () => false,
          )
        )
          return true;
        await this.assertAlive([id]);
        return undefined;
      },
      timeoutMs,
      `${id} to answer /healthz`,
    );
  }

  /** Waits until every node in `ids` has finalized at least `height`; returns their heights. */
  async waitForHeight(
    height: number,
    ids = this.nodes.map((n) => n.id),
    timeoutMs = 60_000,
  ): Promise<number[]> {
    let last: (number | undefined)[] = [];
    try {
      return await waitUntil(
        async () => {
          last = await this.heights(ids);
          if (last.every((h) => h !== undefined && h >= height)) return last as number[];
          await this.assertAlive(ids);
          return undefined;
        },
        timeoutMs,
        `height ${height} on ${ids.join(', ')}`,
      );
    } catch (e) {
      if (e instanceof NodeDied) throw e;
      throw new Error(`${(e as Error).message}; heights were ${JSON.stringify(last)}`);
    }
  }

  // ---- faults ----------------------------------------------------------------------------------

  async kill(id: string): Promise<void> {
    this.#down.add(id);
    await docker('kill', this.node(id).container);
    this.#ips.delete(id);
  }

  async startAgain(id: string): Promise<void> {
    await docker('start', this.node(id).container);
    this.#down.delete(id);
    this.#ips.delete(id);
    await this.waitHealthy(id);
  }

  /**
   * Stops a node's container the way an operator does before replacing it (SIGTERM, up to 20 s to
   * close its store) and removes it. Its directory — store, key, signed-vote log — stays.
   */
  async remove(id: string): Promise<void> {
    this.#down.add(id);
    await docker('stop', '-t', '20', this.node(id).container);
    await docker('rm', this.node(id).container);
    this.#containers.delete(id);
    this.#ips.delete(id);
  }

  /** A new container for `id` from `image`, with the same name, network alias and directory. */
  async recreate(id: string, image: string): Promise<void> {
    const n = this.node(id);
    this.#containers.set(id, await this.#create(n, n.container, image));
    await docker('network', 'connect', this.#ctl, n.container);
    this.#down.delete(id);
    await this.waitHealthy(id);
  }

  /** The image a node's container runs. */
  async imageOf(id: string): Promise<string> {
    return docker('inspect', '-f', '{{.Config.Image}}', this.node(id).container);
  }

  async restartAll(): Promise<void> {
    await docker('restart', '-t', '20', ...this.nodes.map((n) => n.container));
    this.#ips.clear();
    await Promise.all(this.nodes.map((n) => this.waitHealthy(n.id)));
  }

  async pause(id: string): Promise<void> {
    // The kernel's cgroup freezer gives up when a task does not stop in time ("unable to freeze"),
    // which a busy host hits now and then; the pause is the test's tool, not what it tests, so try
    // again a few times before failing.
    for (let attempt = 1; ; attempt++) {
      try {
        await docker('pause', this.node(id).container);
        return;
      } catch (e) {
        if (attempt >= 4 || !/unable to freeze/.test((e as Error).message)) throw e;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  async unpause(id: string): Promise<void> {
    await docker('unpause', this.node(id).container);
  }

  /**
   * Splits the p2p network in two: `group` moves to a separate network (keeping its DNS aliases, so
   * its members still reach each other); everyone else stays behind.
   */
  async partition(group: readonly string[]): Promise<void> {
    await docker('network', 'create', this.#side).catch(() => {});
    for (const id of group) {
      const n = this.node(id);
      await docker('network', 'connect', '--alias', id, this.#side, n.container);
      await docker('network', 'disconnect', (this.#p2p as StartedNetwork).getName(), n.container);
    }
  }

  async heal(group: readonly string[]): Promise<void> {
    for (const id of group) {
      const n = this.node(id);
      await docker('network', 'connect', '--alias', id, (this.#p2p as StartedNetwork).getName(), n.container);
      await docker('network', 'disconnect', this.#side, n.container);
    }
  }

  /** CPU % and memory (MB) per container, from one `docker stats` sample. */
  async stats(): Promise<Map<string, { cpu: number; memMb: number }>> {
    const out = await docker(
      'stats',
      '--no-stream',
      '--format',
      '{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}',
      ...this.nodes.map((n) => n.container),
    );
    const result = new Map<string, { cpu: number; memMb: number }>();
    for (const line of out.split('\n')) {
      const [name, cpu, mem] = line.split('\t');
      const node = this.nodes.find((n) => n.container === name);
      if (!node || !cpu || !mem) continue;
      const [amount, unit] = /([\d.]+)\s*([KMG]i?B)/.exec(mem)?.slice(1) ?? ['0', 'MiB'];
      const factor = unit?.startsWith('G') ? 1024 : unit?.startsWith('K') ? 1 / 1024 : 1;
      result.set(node.id, { cpu: Number.parseFloat(cpu), memMb: Number(amount) * factor });
    }
    return result;
  }

  async logs(id: string): Promise<string> {
    const r = spawnSync('docker', ['logs', this.node(id).container], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    return `${r.stdout}${r.stderr}`;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(
      [...this.#containers.values()].map((c) => c.stop({ timeout: 1, remove: true }).catch(() => {})),
    );
    // Anything testcontainers did not stop (e.g. a paused container) goes here.
    this.#removeSync();
  }

  #removeSync(): void {
    const names = [...this.#adopted, ...this.nodes.map((n) => n.container)];
    if (names.length) spawnSync('docker', ['rm', '-f', '-v', ...names], { stdio: 'ignore' });
    const networks = [this.#ctl, this.#side, ...(this.#p2p ? [this.#p2p.getName()] : [])];
    spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A node's container stopped without being told to: no point waiting any longer. */
export class NodeDied extends Error {
  override name = 'NodeDied';
}

/** Polls `probe` until it returns a value; probe errors count as "not yet", except NodeDied. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((e) => {
      if (e instanceof NodeDied) throw e;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
