/**
 * Deployment generator: compose files for N municipalities in each topology, and per-municipality
 * bundles for real networks where every municipality runs its node on its own host.
 *
 *   npm run generate -- --topology federated --municipalities 7 --out dist/federated-7
 *   npm run generate -- --topology hybrid --municipalities 16 --authorities 4 --out dist/hybrid
 *   npm run generate -- --topology central --municipalities 12 --authorities 4 --out dist/central
 *   npm run generate -- --topology local --out dist/local
 *   npm run generate -- --bundles --members members.json --out dist/bundles   # see CEREMONY.md
 *   npm run generate -- --help
 * (npm runs it on the project's Node 24; a system Node 20 cannot load TypeScript.)
 *
 * One Docker host (the first four forms): `<out>/docker-compose.yml` with an init service that
 * makes keys (each only in its node's volume), the genesis and the configs on first start, exactly
 * as the repository's docker-compose.yml does. Topologies:
 *   local      one municipality's own chain: one authority node, no p2p.
 *   federated  one authority node per municipality.
 *   hybrid     --authorities of the municipalities run authority nodes; the others run observers
 *              (a full verified copy and their own API, no vote).
 *   central    --authorities nodes run centrally (e.g. by a shared operator); municipalities run no
 *              node and reach the chain through the gateway.
 * central and federated also get the gateway as the repository's docker-compose.yml wires it:
 * gateway-init (one-shot; mounts the node volumes read-only to register the municipalities),
 * the token-service emulator and the gateway (HTTPS 127.0.0.1:8080, 8443), which mount only the
 * `gateway` volume. In central, gateway-init routes every CVR through the shared nodes and makes a
 * submitter key for each of the --municipalities (registered by the first node's authority key).
 * hybrid has no gateway service yet.
 *
 * Bundles: members.json lists `{ name, cvr, publicKey, host, role?, gateway? }` per municipality,
 * each public key generated on that municipality's own host (bundles.ts). Writes genesis.json, its
 * hash, and one directory per municipality for its own host: node/ (config with peers by the
 * others' host names, same ports everywhere, its own address announced; genesis; throwaway TLS),
 * the optional gateway/, docker-compose.yml and a README. No authority key passes through this.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GATEWAY_RELEASE_IMAGE, NODE_RELEASE_IMAGE } from '../docker/tags.ts';
import { decodeGenesis } from '../node/protocol/genesis.ts';
import { isValidPublicKey } from '../node/protocol/signature.ts';
import { writeBundles } from './bundles.ts';
import { type Member, municipality, pad, slug } from './members.ts';
import { LOGGING_ANCHOR, loopbackPort, monitoringServices, writeMonitoringFiles } from './monitoring.ts';

export { type Member, slug, writeBundles };

export const TOPOLOGIES = ['local', 'federated', 'hybrid', 'central'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export interface ComposeOptions {
  topology: Topology;
  municipalities: number;
  authorities: number;
  image: string;
  basePort: number;
  blockIntervalMs: number;
  /** With nothing to include, the wait before an empty block; absent: the node default (10 minutes). */
  emptyBlockIntervalMs?: number;
  chainId: string;
  /** The gateway image (central and federated); default the release tag tillid/gateway:<version>. */
  gatewayImage?: string;
  /** Host ports on 127.0.0.1 (0: Docker chooses a free one); defaults 8080, 8443, 9090, 3000. */
  gatewayPort?: number;
  tokenServicePort?: number;
  prometheusPort?: number;
  grafanaPort?: number;
}

/** Whether the topology's compose file includes the gateway services. */
export const hasGateway = (o: ComposeOptions): boolean =>
  o.topology === 'central' || o.topology === 'federated';

export function centralMunicipalities(o: ComposeOptions): { name: string; cvr: string }[] {
  return Array.from({ length: o.municipalities }, (_, i) => municipality(i + 1));
}

/** The nodes of a single-host network: [service id, display name, CVR, role]. */
export function topologyNodes(o: ComposeOptions): { id: string; name: string; cvr: string; role: string }[] {
  switch (o.topology) {
    case 'local':
      return [{ id: 'node-1', ...municipality(1), role: 'authority' }];
    case 'federated':
      return Array.from({ length: o.municipalities }, (_, i) => ({
        id: `node-${i + 1}`,
        ...municipality(i + 1),
        role: 'authority',
      }));
    case 'hybrid':
      return Array.from({ length: o.municipalities }, (_, i) => ({
        id: i < o.authorities ? `node-${i + 1}` : `observer-${i + 1 - o.authorities}`,
        ...municipality(i + 1),
        role: i < o.authorities ? 'authority' : 'observer',
      }));
    case 'central':
      return Array.from({ length: o.authorities }, (_, i) => ({
        id: `central-${i + 1}`,
        name: `Fælles drift ${pad(i + 1)}`,
        cvr: String(90000000 + i),
        role: 'authority',
      }));
  }
}

/** A Compose Specification file (no `version:` key) for one Docker host. */
export function composeFile(o: ComposeOptions): string {
  const nodes = topologyNodes(o);
  const q = (s: string) => JSON.stringify(s);
  const initArgs = [
    `--out=/out`,
    `--chain-id=${o.chainId}`,
    `--block-interval-ms=${o.blockIntervalMs}`,
    ...(o.emptyBlockIntervalMs ? [`--empty-block-interval-ms=${o.emptyBlockIntervalMs}`] : []),
    ...nodes.map((n) =>
      n.role === 'authority' ? `--authority=${n.id}=${n.name}:${n.cvr}` : `--observer=${n.id}=${n.name}`,
    ),
  ];
  const lines = [
    `# Generated by deploy/generate.ts: topology ${o.topology}, ${nodes.length} node(s).`,
    `# ${describe(o)}`,
    '# Start: docker-compose up -d (or docker compose up -d). Keys are generated on first start,',
    '# each only into its own node volume: a development network, not a real deployment',
    '# (see deploy/CEREMONY.md for that).',
    '',
    ...LOGGING_ANCHOR,
    'x-node: &node',
    `  image: ${o.image}`,
    '  restart: unless-stopped',
    '  depends_on:',
    '    init:',
    '      condition: service_completed_successfully',
    '  networks: [tillid]',
    '  stop_grace_period: 20s',
    '  logging: *logging',
    '',
    'services:',
    '  init:',
    `    image: ${o.image}`,
    '    logging: *logging',
    '    entrypoint: ["node", "/app/deploy/init.ts"]',
    '    command:',
    ...initArgs.map((a) => `      - ${q(a)}`),
    '    user: "0:0"',
    '    restart: "no"',
    '    healthcheck: { disable: true }',
    '    network_mode: none',
    '    volumes:',
    ...nodes.map((n) => `      - ${n.id}:/out/${n.id}`),
  ];
  nodes.forEach((n, i) => {
    lines.push(
      `  ${n.id}:`,
      '    <<: *node',
      `    volumes: [${n.id}:/var/lib/tillid]`,
      `    ports: [${o.basePort === 0 ? loopbackPort(0, 7101) : loopbackPort(o.basePort + i, 7101)}]`,
    );
  });
  const gateway = hasGateway(o);
  if (gateway) lines.push(...gatewayServices(o, nodes));
  lines.push(
    ...monitoringServices({
      prometheusPort: o.prometheusPort ?? 9090,
      grafanaPort: o.grafanaPort ?? 3000,
      network: 'tillid',
    }),
  );
  lines.push(
    '',
    'networks:',
    '  tillid: {}',
    '',
    'volumes:',
    ...nodes.map((n) => `  ${n.id}: {}`),
    ...(gateway ? ['  gateway: {}'] : []),
    '  prometheus: {}',
    '',
  );
  return lines.join('\n');
}

/** gateway-init, token-service and gateway, as in the repository's docker-compose.yml. */
function gatewayServices(o: ComposeOptions, nodes: { id: string }[]): string[] {
  const q = (s: string) => JSON.stringify(s);
  const image = o.gatewayImage ?? GATEWAY_RELEASE_IMAGE;
  const ids = nodes.map((n) => n.id);
  const initArgs = [
    `--nodes=${ids.join(',')}`,
    ...(o.topology === 'central'
      ? ['--topology=central', ...centralMunicipalities(o).map((m) => `--municipality=${m.name}:${m.cvr}`)]
      : []),
  ];
  const jwksCheck =
    "require('https').get({host:'127.0.0.1',port:8443,path:'/jwks',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))";
  return [
    '',
    '  # The gateway (HTTPS on 127.0.0.1:8080) and the token-service EMULATOR (127.0.0.1:8443), with',
    '  # throwaway development PKI and key store made by gateway-init in the `gateway` volume, which also',
    '  # registers each municipality on chain (it mounts the node volumes read-only for that one step;',
    '  # the gateway container itself never sees an authority key).',
    ...(o.topology === 'central'
      ? [
          `  # Topology central: the ${o.municipalities} municipalities run no node; the gateway routes`,
          '  # every CVR to the shared nodes above, with a submitter key per municipality.',
        ]
      : []),
    '  gateway-init:',
    `    image: ${image}`,
    '    logging: *logging',
    '    entrypoint: ["node", "/app/deploy/gateway-init.ts"]',
    '    command:',
    ...initArgs.map((a) => `      - ${q(a)}`),
    '    user: "0:0"',
    '    restart: on-failure',
    '    healthcheck: { disable: true }',
    '    networks: [tillid]',
    `    depends_on: [${ids.join(', ')}]`,
    '    volumes:',
    '      - gateway:/var/lib/tillid',
    ...ids.map((id) => `      - ${id}:/nodes/${id}:ro`),
    '  token-service:',
    `    image: ${image}`,
    '    logging: *logging',
    '    entrypoint: ["node", "/app/deploy/token-service.ts"]',
    '    command: []',
    '    restart: unless-stopped',
    '    healthcheck:',
    `      test: ["CMD", "node", "-e", ${q(jwksCheck)}]`,
    '      interval: 10s',
    '      timeout: 3s',
    '      retries: 3',
    '    networks: [tillid]',
    '    depends_on:',
    '      gateway-init: { condition: service_completed_successfully }',
    '    volumes: [gateway:/var/lib/tillid:ro]',
    `    ports: [${loopbackPort(o.tokenServicePort ?? 8443, 8443)}]`,
    '  gateway:',
    `    image: ${image}`,
    '    logging: *logging',
    '    restart: unless-stopped',
    '    environment:',
    '      TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE: /var/lib/tillid/passphrase',
    '    networks: [tillid]',
    '    depends_on:',
    '      gateway-init: { condition: service_completed_successfully }',
    '      token-service: { condition: service_started }',
    '    volumes: [gateway:/var/lib/tillid]',
    `    ports: [${loopbackPort(o.gatewayPort ?? 8080, 8080)}]`,
  ];
}

function describe(o: ComposeOptions): string {
  switch (o.topology) {
    case 'local':
      return 'One municipality, its own single-authority chain.';
    case 'federated':
      return `${o.municipalities} municipalities, each an authority (tolerates ${Math.floor((o.municipalities - 1) / 3)} faulty).`;
    case 'hybrid':
      return `${o.authorities} authorities, ${o.municipalities - o.authorities} observers (tolerates ${Math.floor((o.authorities - 1) / 3)} faulty authorities).`;
    case 'central':
      return `${o.authorities} centrally run authorities; ${o.municipalities} municipalities through the gateway.`;
  }
}

export function writeDeployment(o: ComposeOptions, out: string): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'docker-compose.yml'), composeFile(o));
  writeMonitoringFiles(
    out,
    topologyNodes(o).map((n) => `${n.id}:7101`),
    hasGateway(o) ? 'gateway:8080' : undefined,
  );
}

export const USAGE = `Usage: npm run generate -- [options]      (the project's Node 24; Node 20 cannot run this file)

One Docker host:
  --topology local|federated|hybrid|central   default federated
  --municipalities N        default 4
  --authorities N           hybrid/central: authority nodes, default 4
  --out DIR                 required; must not hold a deployment yet
  --image TAG               node image, default ${NODE_RELEASE_IMAGE} (npm run images tags it)
  --gateway-image TAG       default ${GATEWAY_RELEASE_IMAGE}
  --base-port P             first node API port on 127.0.0.1, default 7101 (0: Docker chooses)
  --gateway-port P          default 8080 (0: Docker chooses); --token-service-port default 8443
  --prometheus-port P       default 9090; --grafana-port default 3000
  --block-interval-ms MS    default 500
  --chain-id ID             default tillid-<topology>

Separate hosts (deploy/CEREMONY.md), one bundle per municipality:
  --bundles --members members.json --out DIR [--chain-id ID] [--image TAG] [--gateway-image TAG] [--no-tls]
    members.json: [{ name, cvr, publicKey, host, role?, gateway? }]; host: the DNS name or IP the
    others reach it at (API 7101, p2p 7201 on every host). Node APIs are HTTPS with THROWAWAY
    certificates from a per-consortium development CA unless --no-tls (plain HTTP on loopback).

Kubernetes (deploy/KUBERNETES.md), from the same members.json:
  --kubernetes network --members members.json --out DIR        every member's node + the gateway
  --kubernetes municipality --members members.json --genesis genesis.json --municipality NAME|CVR --out DIR
  [--namespace tillid] [--storage 20Gi] [--chain-id ID] [--image TAG] [--gateway-image TAG]
  [--new-network]   first start of a new network: fresh volumes get the keys' empty signed-vote
                    logs (re-apply without it once the network has finalized; KUBERNETES.md)

Every compose file has log rotation and the monitoring profile; start with
  npm run up -- --file DIR/docker-compose.yml [--monitoring]`;

const port = (value: string | undefined, fallback: number, name: string): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${name} must be a port number (0–65535)`);
  return n;
};

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        topology: { type: 'string', default: 'federated' },
        municipalities: { type: 'string', default: '4' },
        authorities: { type: 'string', default: '4' },
        out: { type: 'string' },
        image: { type: 'string', default: NODE_RELEASE_IMAGE },
        'gateway-image': { type: 'string', default: GATEWAY_RELEASE_IMAGE },
        'base-port': { type: 'string', default: '7101' },
        'gateway-port': { type: 'string' },
        'token-service-port': { type: 'string' },
        'prometheus-port': { type: 'string' },
        'grafana-port': { type: 'string' },
        'block-interval-ms': { type: 'string', default: '500' },
        'chain-id': { type: 'string' },
        bundles: { type: 'boolean', default: false },
        'no-tls': { type: 'boolean', default: false },
        members: { type: 'string' },
        kubernetes: { type: 'string' },
        municipality: { type: 'string' },
        namespace: { type: 'string', default: 'tillid' },
        storage: { type: 'string', default: '20Gi' },
        genesis: { type: 'string' },
        'new-network': { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const out = values.out;
    if (!out) throw new Error('--out <dir> is required');
    if (['docker-compose.yml', 'genesis.json', 'kubernetes.yaml'].some((f) => existsSync(join(out, f))))
      throw new Error(`${out} already holds a generated deployment`);
    const blockIntervalMs = Number(values['block-interval-ms']);
    if (values.kubernetes) {
      if (!values.members) throw new Error('--kubernetes needs --members members.json');
      const members = JSON.parse(readFileSync(values.members, 'utf8')) as Member[];
      for (const m of members)
        if (!isValidPublicKey(m.publicKey)) throw new Error(`${m.name}: invalid public key`);
      const k = {
        namespace: values.namespace,
        chainId: values['chain-id'] ?? 'tillid',
        image: values.image,
        gatewayImage: values['gateway-image'],
        blockIntervalMs,
        storage: values.storage,
        newNetwork: values['new-network'],
        ...(values.genesis
          ? { genesis: decodeGenesis(JSON.parse(readFileSync(values.genesis, 'utf8'))) }
          : {}),
      };
      const { kubernetesMunicipality, kubernetesNetwork, toYaml } = await import('./kubernetes.ts');
      let result: Awaited<ReturnType<typeof kubernetesNetwork>>;
      if (values.kubernetes === 'network') result = await kubernetesNetwork(members, k);
      else if (values.kubernetes === 'municipality') {
        if (!values.municipality) throw new Error('--kubernetes municipality needs --municipality NAME|CVR');
        result = await kubernetesMunicipality(members, values.municipality, k);
      } else throw new Error('--kubernetes must be network or municipality');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'kubernetes.yaml'), toYaml(result.manifests));
      writeFileSync(join(out, 'GENESIS-HASH'), `${result.genesisHash}\n`);
      console.log(
        `${join(out, 'kubernetes.yaml')}: ${result.manifests.length} objects, genesis ${result.genesisHash}`,
      );
    } else if (values.bundles) {
      if (!values.members) throw new Error('--bundles needs --members members.json');
      const members = JSON.parse(readFileSync(values.members, 'utf8')) as Member[];
      const { genesisHash: hash } = await writeBundles(members, out, {
        chainId: values['chain-id'] ?? 'tillid',
        image: values.image,
        gatewayImage: values['gateway-image'],
        blockIntervalMs,
        tls: !values['no-tls'],
      });
      console.log(JSON.stringify({ genesisHash: hash, bundles: members.map((m) => slug(m.name)) }));
    } else {
      const topology = values.topology as Topology;
      if (!TOPOLOGIES.includes(topology))
        throw new Error(`--topology must be one of ${TOPOLOGIES.join(', ')}`);
      const o: ComposeOptions = {
        topology,
        municipalities: Number(values.municipalities),
        authorities: Number(values.authorities),
        image: values.image,
        gatewayImage: values['gateway-image'],
        basePort: port(values['base-port'], 7101, 'base-port'),
        gatewayPort: port(values['gateway-port'], 8080, 'gateway-port'),
        tokenServicePort: port(values['token-service-port'], 8443, 'token-service-port'),
        prometheusPort: port(values['prometheus-port'], 9090, 'prometheus-port'),
        grafanaPort: port(values['grafana-port'], 3000, 'grafana-port'),
        blockIntervalMs,
        chainId: values['chain-id'] ?? `tillid-${topology}`,
      };
      if (!(o.municipalities >= 1 && o.authorities >= 1)) throw new Error('counts must be at least 1');
      if (topology === 'hybrid' && o.authorities >= o.municipalities)
        throw new Error('hybrid needs fewer --authorities than --municipalities');
      writeDeployment(o, out);
      console.log(`${join(out, 'docker-compose.yml')}: ${describe(o)}`);
    }
  } catch (e) {
    console.error(`generate: ${(e as Error).message}\n(npm run generate -- --help for usage)`);
    process.exitCode = 1;
  }
}
