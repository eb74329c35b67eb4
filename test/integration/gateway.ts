/**
 * The gateway and the token-service EMULATOR as containers next to a Cluster's nodes (image
 * tillid/gateway:dev, built first if missing or stale), set up the way docker-compose.yml does it:
 * a one-shot `deploy/gateway-init.ts` container writes the throwaway test PKI, the encrypted key
 * store and its passphrase, the token-service grants and gateway.json into a host directory, and
 * registers each authority's municipality on chain with its gateway submitter key, signed by that
 * municipality's authority key (it mounts the node directories read-only; the gateway never sees
 * an authority key). Then `deploy/token-service.ts` (alias `token-service`) and the gateway (alias
 * `gateway`) start on the cluster's p2p network; the test reaches both over HTTPS at their address
 * on the control network, checking their certificates against the test CA by their service names.
 *
 * Topology `central`: gateway-init runs with `--topology central`, so no municipality has nodes of
 * its own and every CVR goes through `sharedNodes` — the authority nodes in order, or the nodes
 * `GatewayOptions.sharedNodes` names (observers too) — and each of `nodeless` is a municipality that
 * runs no node at all. With `amqp`, the gateway delivers events to the host's RabbitMQ through a
 * relay (host-side.ts): the broker listens on loopback only.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { ENTITY_ID } from '../../deploy/gateway-init.ts';
import { ensureImages, GATEWAY_IMAGE_TAG } from '../../docker/build-images.ts';
import { httpsJson } from '../fixtures/http.ts';
import { type Cluster, docker, dockerWithin, type Json, waitUntil } from './cluster.ts';
import { controlHostAddress, type Relay, relayTo } from './host-side.ts';

export type GatewayTopology = 'federated' | 'central';

/** How a call authenticates: a bearer token, or the demo provider's client certificate. */
export type As = { token: string } | { cert: 'provider' | 'esdh' };

export interface GatewayOptions {
  /** Municipalities without a node (central only): gateway-init's `--municipality=<name>:<cvr>`. */
  readonly nodeless?: readonly { readonly name: string; readonly cvr: string }[];
  /** Node ids in the order the gateway tries them (central); default the authorities. */
  readonly sharedNodes?: readonly string[];
  /** `events.amqp` to the host's broker (`amqp://127.0.0.1:5672` unless TILLID_TEST_AMQP_URL). */
  readonly amqp?: { readonly exchange: string; readonly queuePrefix: string; readonly receivers: string[] };
}

const AMQP_URL = new URL(process.env.TILLID_TEST_AMQP_URL ?? 'amqp://127.0.0.1:5672');

export interface Answer {
  readonly status: number;
  readonly body: Json;
}

/**
 * How long a gateway or token-service container may take to answer, as a bound (it fails at once
 * if the container stops). Not a speed target: loading the gateway's modules alone costs 0.7 s of
 * CPU and took 15 s at load 52 on two cores; with opening the key store (scrypt) and building the
 * server, the gateway missed the former 60 s bound at load ≈ 50 in CI, logging nothing wrong.
 */
const STARTUP_BOUND_MS = 240_000;

const root = process.getuid?.() === 0;
const self = `${process.getuid?.()}:${process.getgid?.()}`;

export class ClusterGateway {
  readonly dir: string;
  readonly topology: GatewayTopology;
  readonly #cluster: Cluster;
  readonly #names: { init: string; tokenService: string; gateway: string };
  readonly #ips = new Map<string, string>();
  readonly #options: GatewayOptions;
  #relay: Relay | undefined;

  private constructor(cluster: Cluster, topology: GatewayTopology, options: GatewayOptions) {
    this.#cluster = cluster;
    this.topology = topology;
    this.#options = options;
    this.dir = join(cluster.dir, 'gateway');
    const prefix = `tillid-it-${cluster.run}`;
    this.#names = {
      init: `${prefix}-gateway-init`,
      tokenService: `${prefix}-token-service`,
      gateway: `${prefix}-gateway`,
    };
    for (const name of Object.values(this.#names)) cluster.adopt(name);
  }

  /** Initialises and starts the token service and the gateway; resolves once the gateway answers. */
  static async start(
    cluster: Cluster,
    topology: GatewayTopology = 'central',
    options: GatewayOptions = {},
  ): Promise<ClusterGateway> {
    ensureImages(['gateway']);
    const g = new ClusterGateway(cluster, topology, options);
    try {
      await g.#start();
    } catch (e) {
      g.stop();
      throw e;
    }
    return g;
  }

  async #start(): Promise<void> {
    await this.#init();
    await this.#run(this.#names.tokenService, 'token-service', [
      '--entrypoint',
      'node',
      '-v',
      `${this.dir}:/var/lib/tillid:ro`,
      GATEWAY_IMAGE_TAG,
      '/app/deploy/token-service.ts',
    ]);
    await waitUntil(
      async () =>
        (await this.#logs(this.#names.tokenService)).includes('token-service emulator started') || undefined,
      STARTUP_BOUND_MS,
      'the token service to start',
    );
    await this.#run(this.#names.gateway, 'gateway', [
      '-e',
      'TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE=/var/lib/tillid/passphrase',
      '-v',
      `${this.dir}:/var/lib/tillid`,
      GATEWAY_IMAGE_TAG,
    ]);
    await waitUntil(
      async () => {
        if ((await this.call('GET', '/healthz').catch(() => undefined))?.status === 200) return true;
        const state = await docker('inspect', '-f', '{{.State.Status}}', this.#names.gateway);
        if (state !== 'running') throw new Error(`the gateway stopped (${state}):\n${await this.logs()}`);
        return undefined;
      },
      STARTUP_BOUND_MS,
      'the gateway to answer /healthz',
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${(await this.logs()).split('\n').slice(-20).join('\n')}`);
    });
  }

  /** Closes the broker relay (the containers go with the cluster). */
  stop(): void {
    this.#relay?.close();
  }

  /** deploy/gateway-init.ts, as docker-compose runs it; then the topology's routes. */
  async #init(): Promise<void> {
    const c = this.#cluster;
    const ids = c.authorities.map((n) => n.id);
    mkdirSync(this.dir, { mode: 0o700 });
    try {
      // It registers every municipality and waits for each to be final: minutes on a busy machine.
      await dockerWithin(
        300_000,
        'run',
        '--name',
        this.#names.init,
        '--network',
        c.p2pNetwork,
        '--user',
        root ? '0:0' : self,
        '--entrypoint',
        'node',
        '-v',
        `${this.dir}:/var/lib/tillid`,
        ...c.authorities.flatMap((n) => ['-v', `${n.dir}:/nodes/${n.id}:ro`]),
        GATEWAY_IMAGE_TAG,
        '/app/deploy/gateway-init.ts',
        `--nodes=${ids.join(',')}`,
        ...(this.topology === 'central' ? ['--topology=central'] : []),
        ...(this.#options.nodeless ?? []).map((m) => `--municipality=${m.name}:${m.cvr}`),
        ...(root ? [] : [`--owner=${self}`]),
      );
    } catch (e) {
      throw new Error(`gateway-init failed: ${(e as Error).message}\n${await this.#logs(this.#names.init)}`);
    }
    const file = join(this.dir, 'gateway.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.logLevel = 'warn';
    // With an authority down, a height it was to propose waits out a round timeout.
    config.finalityTimeoutMs = 60_000;
    if (this.topology === 'central' && this.#options.sharedNodes)
      config.sharedNodes = this.#options.sharedNodes.map((id) => `http://${id}:7101`);
    if (this.#options.amqp) {
      // The broker listens on loopback: the gateway reaches it through a relay on the host's
      // address on the control network.
      const host = await controlHostAddress(c.ctlNetwork);
      this.#relay = await relayTo(host, AMQP_URL.hostname, Number(AMQP_URL.port || 5672));
      const url = new URL(AMQP_URL);
      url.hostname = host;
      url.port = String(this.#relay.port);
      config.events = { amqp: { url: url.toString(), ...this.#options.amqp }, pollIntervalMs: 200 };
    }
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    if (root) chownSync(file, 1000, 1000);
  }

  /** `docker run -d` on the p2p network with `alias`, then joined to the control network. */
  async #run(name: string, alias: string, args: string[]): Promise<void> {
    const c = this.#cluster;
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      c.p2pNetwork,
      '--network-alias',
      alias,
      '--label',
      `org.tillid.test-run=${c.run}`,
      ...(root ? [] : ['--user', self]),
      ...args,
    );
    await docker('network', 'connect', c.ctlNetwork, name);
  }

  async #ip(name: string): Promise<string> {
    let ip = this.#ips.get(name);
    if (!ip) {
      ip = await docker(
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${this.#cluster.ctlNetwork}").IPAddress}}`,
        name,
      );
      if (!ip) throw new Error(`${name} has no address on the control network`);
      this.#ips.set(name, ip);
    }
    return ip;
  }

  #pki(file: string): string {
    return readFileSync(join(this.dir, 'pki', file), 'utf8');
  }

  /** The first authority's CVR: the municipality the demo case system (ESDH) acts for. */
  get municipality(): string {
    return this.#cluster.authorities[0]?.cvr as string;
  }

  /** A token from the emulator for the demo case system, over mutual TLS (client credentials). */
  async token(cvr = this.municipality): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: `entityid:${ENTITY_ID},anvenderkontekst:${cvr}`,
    }).toString();
    const answer = await this.#request(
      this.#names.tokenService,
      'token-service',
      8443,
      'POST',
      '/oauth2/token',
      { 'content-type': 'application/x-www-form-urlencoded' },
      form,
      { cert: 'esdh' },
    );
    if (answer.status !== 200 || !answer.body?.access_token)
      throw new Error(`no token: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.access_token as string;
  }

  /** An HTTPS call to the gateway (JSON in and out). */
  call(
    method: string,
    path: string,
    o: { as?: As; body?: unknown; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    return this.#request(
      this.#names.gateway,
      'gateway',
      8080,
      method,
      path,
      {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(o.as && 'token' in o.as ? { authorization: `Bearer ${o.as.token}` } : {}),
      },
      body,
      o.as && 'cert' in o.as ? o.as : undefined,
      o.timeoutMs,
    );
  }

  async #request(
    container: string,
    servername: string,
    port: number,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    client?: { cert: 'provider' | 'esdh' },
    timeoutMs = 90_000,
  ): Promise<Answer> {
    const host = await this.#ip(container);
    const { status, body: parsed } = await httpsJson(
      {
        options: {
          host,
          port,
          path,
          method,
          servername,
          ca: this.#pki('ca.pem'),
          ...(client ? { cert: this.#pki(`${client.cert}.pem`), key: this.#pki(`${client.cert}.key`) } : {}),
          headers: {
            ...headers,
            ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
          agent: false,
        },
        timeoutMs,
      },
      body,
    );
    return { status, body: parsed };
  }

  /**
   * Opens `GET /v1/events/stream` (Server-Sent Events) as `as`; every `data:` frame's JSON goes into
   * `received` until `close()`.
   */
  async stream(as: As, received: Json[], after?: number): Promise<{ close: () => void }> {
    const host = await this.#ip(this.#names.gateway);
    let partial = '';
    const req = httpsRequest({
      host,
      port: 8080,
      path: `/v1/events/stream${after !== undefined ? `?after=${after}` : ''}`,
      method: 'GET',
      servername: 'gateway',
      ca: this.#pki('ca.pem'),
      ...('cert' in as ? { cert: this.#pki(`${as.cert}.pem`), key: this.#pki(`${as.cert}.key`) } : {}),
      headers: {
        accept: 'text/event-stream',
        ...('token' in as ? { authorization: `Bearer ${as.token}` } : {}),
      },
      agent: false,
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        partial += chunk;
        const frames = partial.split('\n\n');
        partial = frames.pop() ?? '';
        for (const frame of frames)
          for (const line of frame.split('\n'))
            if (line.startsWith('data: ')) received.push(JSON.parse(line.slice(6)));
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
    return { close: () => req.destroy() };
  }

  async #logs(name: string): Promise<string> {
    const r = spawnSync('docker', ['logs', name], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return `${r.stdout}${r.stderr}`;
  }

  logs(): Promise<string> {
    return this.#logs(this.#names.gateway);
  }
}
