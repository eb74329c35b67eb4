/**
 * Per-municipality bundles for separate hosts: each member's own compose file, node config and
 * (when its members.json entry has a `gateway` section) its own gateway, built from public keys
 * only. Every node listens on the same ports on its own host (API 7101, p2p 7201), announces only
 * its own public address, and — by default — serves its API over HTTPS with throwaway certificates
 * from a per-consortium development CA (bundle-pki.ts) until the municipality's own PKI replaces them.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GATEWAY_RELEASE_IMAGE } from '../docker/tags.ts';
import { validateGatewayConfig } from '../gateway/config.ts';
import { hostMultiaddr } from '../node/p2p/address.ts';
import { peerIdForPublicKey } from '../node/p2p/identity.ts';
import { DEFAULT_PARAMS, decodeGenesis, genesisHash } from '../node/protocol/genesis.ts';
import { isValidPublicKey } from '../node/protocol/signature.ts';
import { apiPortOf, bundleCompose, GATEWAY_PORT, ownNodeUrl, P2P_PORT } from './bundle-compose.ts';
import { createDevPki, type DevPki, writeTlsFiles } from './bundle-pki.ts';
import { bundleReadme } from './bundle-readme.ts';
import { type Member, slug } from './members.ts';
import { writeMonitoringFiles } from './monitoring.ts';

export interface BundleOptions {
  chainId: string;
  image: string;
  /** The gateway image, for members with a `gateway` section; default the release-tagged gateway image. */
  gatewayImage?: string;
  blockIntervalMs: number;
  /** With nothing to include, the wait before an empty block; absent: the node default (10 minutes). */
  emptyBlockIntervalMs?: number;
  genesisTime?: number;
  /** HTTPS node APIs (and throwaway TLS material); default true. False: plain HTTP on loopback. */
  tls?: boolean;
}

const addressOf = (m: Member) => hostMultiaddr(m.host, m.p2pPort ?? P2P_PORT);

export async function writeBundles(
  members: Member[],
  out: string,
  o: BundleOptions,
): Promise<{ genesisHash: string }> {
  const tls = o.tls ?? true;
  const withGateway = members.find((m) => m.gateway !== undefined);
  if (!tls && withGateway)
    throw new Error(
      `${withGateway.name}: a bundle with a gateway needs TLS (it serves its callers HTTPS only)`,
    );
  for (const m of members) {
    if (!isValidPublicKey(m.publicKey)) throw new Error(`${m.name}: invalid public key`);
    if (!m.host) throw new Error(`${m.name}: host is required`);
    try {
      addressOf(m);
    } catch (e) {
      throw new Error(`${m.name}: ${(e as Error).message}`);
    }
  }
  const taken = new Map<string, string>();
  for (const m of members) {
    const other = taken.get(addressOf(m));
    if (other) throw new Error(`${m.name} and ${other} have the same address ${addressOf(m)}`);
    taken.set(addressOf(m), m.name);
  }
  // Every gateway section is checked before anything is written.
  const gateways = new Map(members.filter((m) => m.gateway).map((m) => [m, gatewayConfig(m, members, tls)]));
  for (const [m, g] of gateways)
    for (const [from] of g.copies)
      if (!existsSync(from)) throw new Error(`${m.name}: gateway section: no file ${from}`);
  const authorities = members.filter((m) => (m.role ?? 'authority') === 'authority');
  const genesis = decodeGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime ?? Date.now(),
    authorities: authorities.map((m) => ({
      name: m.name,
      cvr: m.cvr,
      publicKey: m.publicKey,
      address: addressOf(m),
    })),
    params: DEFAULT_PARAMS,
  });
  const hash = genesisHash(genesis);
  mkdirSync(out, { recursive: true });
  const genesisText = `${JSON.stringify(genesis, null, 2)}\n`;
  writeFileSync(join(out, 'genesis.json'), genesisText);
  writeFileSync(join(out, 'GENESIS-HASH'), `${hash}\n`);
  const pki = tls ? await createDevPki() : undefined;
  if (pki) writeFileSync(join(out, 'THROWAWAY-DEV-CA.pem'), pki.caPem);
  const peerAddress = async (m: Member) => `${addressOf(m)}/p2p/${await peerIdForPublicKey(m.publicKey)}`;
  const observerKeys = members.filter((m) => m.role === 'observer').map((m) => m.publicKey);
  for (const m of members) {
    const s = slug(m.name);
    const dir = join(out, s);
    const nodeDir = join(dir, 'node');
    mkdirSync(nodeDir, { recursive: true });
    const peers = await Promise.all(authorities.filter((a) => a !== m).map(peerAddress));
    const p2pPort = m.p2pPort ?? P2P_PORT;
    // Paths as the container sees them: the bundle's node/ at /etc/tillid (read-only), the key and
    // the chain in the tillid-node volume. TILLID_KEY_FILE / TILLID_DATA_DIR move them outside one.
    const config = {
      name: m.name,
      genesisFile: 'genesis.json',
      keyFile: '/var/lib/tillid/key.json',
      dataDir: '/var/lib/tillid/data',
      api: {
        host: '0.0.0.0',
        port: apiPortOf(m),
        ...(tls ? { tls: { cert: 'tls/node.pem', key: 'tls/node.key' } } : {}),
      },
      blockIntervalMs: o.blockIntervalMs,
      ...(o.emptyBlockIntervalMs ? { emptyBlockIntervalMs: o.emptyBlockIntervalMs } : {}),
      logLevel: 'info',
      p2p: {
        listen: [`/ip4/0.0.0.0/tcp/${p2pPort}`],
        announce: [addressOf(m)],
        peers,
        observers: (m.role ?? 'authority') === 'authority' ? observerKeys : [],
      },
    };
    writeFileSync(join(nodeDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    writeFileSync(join(nodeDir, 'genesis.json'), genesisText);
    if (pki) {
      const names = [m.host, 'node', `tillid-${s}-node`, 'localhost', '127.0.0.1'];
      writeTlsFiles(join(nodeDir, 'tls'), pki.caPem, 'node', await pki.issue(names));
    }
    const gateway = gateways.get(m);
    if (gateway && pki) await writeGateway(m, gateway, dir, genesisText, pki);
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      bundleCompose({
        member: m,
        slug: s,
        image: o.image,
        gatewayImage: o.gatewayImage ?? GATEWAY_RELEASE_IMAGE,
        tls,
      }),
    );
    writeFileSync(join(dir, '.env'), `COMPOSE_PROJECT_NAME=tillid-${s}\n`);
    writeMonitoringFiles(
      dir,
      [`node:${apiPortOf(m)}`],
      m.gateway ? `gateway:${GATEWAY_PORT}` : undefined,
      tls,
    );
    writeFileSync(
      join(dir, 'README.md'),
      bundleReadme({
        member: m,
        slug: s,
        genesisHash: hash,
        chainId: o.chainId,
        tls,
        authorities: authorities.length,
        image: o.image,
      }),
    );
  }
  return { genesisHash: hash };
}

/**
 * gateway.json for the municipality's real infrastructure (validated as the gateway will), and the
 * files it names that are copied into the bundle: the municipality's own CAs (OCES3 for system
 * certificates, its token service's), so nothing in the bundle points back at the generating machine.
 */
function gatewayConfig(m: Member, members: Member[], tls: boolean) {
  const g = m.gateway ?? {};
  const copies: [from: string, to: string][] = [];
  const copy = (file: string) => {
    const target = join('pki', basename(file));
    copies.push([file, target]);
    return target;
  };
  const others = members.filter((x) => x !== m && (x.role ?? 'authority') === 'authority');
  const raw = {
    listen: { host: '0.0.0.0', port: GATEWAY_PORT },
    tls: {
      certFile: 'tls/gateway.pem',
      keyFile: 'tls/gateway.key',
      clientCaFiles: (g.clientCaFiles ?? []).map(copy),
    },
    ...(g.token
      ? {
          token: {
            issuer: g.token.issuer,
            audience: g.token.audience,
            jwksUrl: g.token.jwksUrl,
            ...(g.token.jwksCaFile ? { jwksCaFile: copy(g.token.jwksCaFile) } : {}),
          },
        }
      : {}),
    ...(g.certificatePrivileges ? { certificatePrivileges: g.certificatePrivileges } : {}),
    ...(g.roleUris ? { roleUris: g.roleUris } : {}),
    topology: 'federated',
    // Its own node first; the other members' APIs (HTTPS, the consortium CA) when it is down.
    municipalities: [
      {
        cvr: m.cvr,
        name: m.name,
        nodes: [ownNodeUrl(m, tls), ...others.map((x) => `https://${x.host}:${apiPortOf(x)}`)],
      },
    ],
    sharedNodes: [],
    nodeCaFile: 'tls/node-ca.pem',
    providers: g.providers ?? [],
    agreements: (g.agreements ?? []).map((a) => ({ system: a.system, service: a.service, cvr: m.cvr })),
    keyStoreDir: '/var/lib/tillid/keys',
    genesisFile: 'genesis.json',
    auditFile: '/var/lib/tillid/audit.jsonl',
  };
  try {
    validateGatewayConfig(raw, '/etc/tillid-gateway');
  } catch (e) {
    throw new Error(`${m.name}: gateway section: ${(e as Error).message}`);
  }
  return { raw, copies };
}

/** gateway/: gateway.json, the genesis, the copied CAs and the throwaway TLS files. */
async function writeGateway(
  m: Member,
  gateway: ReturnType<typeof gatewayConfig>,
  dir: string,
  genesisText: string,
  pki: DevPki,
): Promise<void> {
  const gatewayDir = join(dir, 'gateway');
  mkdirSync(join(gatewayDir, 'pki'), { recursive: true });
  writeFileSync(join(gatewayDir, 'genesis.json'), genesisText);
  for (const [from, to] of gateway.copies) copyFileSync(from, join(gatewayDir, to));
  const host = m.gateway?.host ?? m.host;
  writeTlsFiles(
    join(gatewayDir, 'tls'),
    pki.caPem,
    'gateway',
    await pki.issue([host, 'gateway', 'localhost']),
  );
  // The node CA: the consortium's. Here the throwaway one, which issued every member's node certificate.
  writeFileSync(join(gatewayDir, 'tls', 'node-ca.pem'), pki.caPem);
  writeFileSync(join(gatewayDir, 'gateway.json'), `${JSON.stringify(gateway.raw, null, 2)}\n`);
}
