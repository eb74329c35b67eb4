/**
 * The compose file of one municipality's bundle: its node and, when configured, its own gateway.
 * Names never depend on the directory the bundle is unpacked in: the project (COMPOSE_PROJECT_NAME
 * in `.env` — read by docker-compose 1.x and `docker compose` alike, unlike a top-level `name:`),
 * network, containers and volumes are named after the municipality.
 */
import { hostMultiaddr } from '../node/p2p/address.ts';
import type { Member } from './members.ts';
import { LOGGING_ANCHOR, monitoringServices } from './monitoring.ts';

export const API_PORT = 7101;
export const P2P_PORT = 7201;
export const GATEWAY_PORT = 8080;

export const apiPortOf = (m: Member): number => m.apiPort ?? API_PORT;

export interface BundleCompose {
  readonly member: Member;
  readonly slug: string;
  readonly image: string;
  readonly gatewayImage: string;
  readonly tls: boolean;
}

/** A DNS name (not an IP) can be the node's alias inside the bundle's network: see nodeUrlFor. */
export const isDnsName = (host: string): boolean => hostMultiaddr(host, 1).startsWith('/dns4/');

/**
 * The URL this municipality's gateway and CLI use for its own node. A DNS host is also the node's
 * alias on the bundle's network, so the URL names the host its certificate is issued for without
 * hairpinning through the public address; an IP host is reached through the published port.
 */
export const ownNodeUrl = (m: Member, tls: boolean): string =>
  tls ? `https://${m.host}:${apiPortOf(m)}` : `http://node:${apiPortOf(m)}`;

// The image's own health check speaks plain HTTP; with TLS the check trusts the bundle's CA and
// skips only the name check (it dials 127.0.0.1, which a municipality's certificate need not name).
const tlsHealthcheck = (port: number) =>
  `require('https').get({host:'127.0.0.1',port:${port},path:'/healthz',ca:require('fs').readFileSync('/etc/tillid/tls/ca.pem'),checkServerIdentity:()=>undefined},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))`;

export function bundleCompose(b: BundleCompose): string {
  const { member: m, slug } = b;
  const q = (s: string) => JSON.stringify(s);
  const p2p = m.p2pPort ?? P2P_PORT;
  const api = apiPortOf(m);
  const gateway = m.gateway !== undefined;
  return [
    `# ${m.name} (CVR ${m.cvr}): its own Tillid node${gateway ? ' and gateway' : ''}, on its own host (${m.host}).`,
    '# README.md beside this file takes you from an empty host to a joined, finalizing node.',
    '# The project name (tillid-<municipality>) is in .env beside it, which docker-compose and',
    '# `docker compose` both read; containers, network and volumes are named explicitly.',
    '',
    ...LOGGING_ANCHOR,
    'services:',
    '  node:',
    `    image: ${b.image}`,
    `    container_name: tillid-${slug}-node`,
    '    restart: unless-stopped',
    '    logging: *logging',
    '    stop_grace_period: 20s',
    '    command: ["node", "start", "--config", "/etc/tillid/config.json"]',
    // The image presets TILLID_API_HOST/PORT (0.0.0.0:7101), which override the config: keep them equal.
    '    environment:',
    '      TILLID_API_HOST: 0.0.0.0',
    `      TILLID_API_PORT: "${api}"`,
    '    volumes:',
    '      - tillid-node:/var/lib/tillid   # key.json (key ceremony) and the chain store',
    '      - ./node:/etc/tillid:ro         # config.json, genesis.json, tls/',
    // The key file is encrypted; the node finds its passphrase at /run/secrets/tillid-key-passphrase.
    '    secrets: [tillid-key-passphrase]',
    '    ports:',
    `      - "${p2p}:${p2p}"   # p2p: open to the other members only (noise-encrypted; allow-list by key)`,
    ...(b.tls
      ? [`      - "${api}:${api}"   # API over HTTPS: the members' gateways and operators`]
      : [`      - "127.0.0.1:${api}:${api}"   # API, plain HTTP: this host only (no TLS in this bundle)`]),
    ...(b.tls ? ['    healthcheck:', `      test: ["CMD", "node", "-e", ${q(tlsHealthcheck(api))}]`] : []),
    ...(b.tls ? ['      interval: 10s', '      timeout: 3s', '      retries: 3'] : []),
    '    networks:',
    '      default:',
    ...(b.tls && isDnsName(m.host) ? [`        aliases: [${q(m.host)}]`] : ['        {}']),
    ...(gateway ? gatewayService(b) : []),
    ...monitoringServices({ prometheusPort: 9090, grafanaPort: 3000 }),
    '',
    'networks:',
    '  default:',
    `    name: tillid-${slug}`,
    '',
    'volumes:',
    '  tillid-node:',
    // The key ceremony's volume; the variable only lets several bundles share one Docker engine (tests).
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a compose variable, not a template
    '    name: ${TILLID_NODE_VOLUME:-tillid-node}   # made in the key ceremony: `docker volume create tillid-node`',
    '    external: true',
    ...(gateway ? ['  tillid-gateway:', `    name: tillid-${slug}-gateway`] : []),
    '  prometheus:',
    `    name: tillid-${slug}-prometheus`,
    '',
    'secrets:',
    '  tillid-key-passphrase:',
    "    file: ./secrets/tillid-key-passphrase   # the authority key's passphrase (README step 2), never sent anywhere",
    ...(gateway
      ? [
          '  keystore-passphrase:',
          '    file: ./secrets/keystore-passphrase   # made on this host (README), never sent anywhere',
        ]
      : []),
    '',
  ].join('\n');
}

function gatewayService(b: BundleCompose): string[] {
  return [
    '',
    "  # The municipality's own gateway: HTTPS for its case systems (token service and/or OCES",
    '  # certificates), submitting with its own key store to its own node first.',
    '  gateway:',
    `    image: ${b.gatewayImage}`,
    `    container_name: tillid-${b.slug}-gateway`,
    '    restart: unless-stopped',
    '    logging: *logging',
    '    command: ["--config", "/etc/tillid-gateway/gateway.json"]',
    '    environment:',
    '      TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE: /run/secrets/keystore-passphrase',
    '    secrets: [keystore-passphrase]',
    '    depends_on: [node]',
    '    volumes:',
    '      - tillid-gateway:/var/lib/tillid   # key store, audit log, event cursors',
    '      - ./gateway:/etc/tillid-gateway:ro  # gateway.json, genesis.json, tls/, pki/',
    `    ports: ["\${TILLID_GATEWAY_PORT:-${GATEWAY_PORT}}:${GATEWAY_PORT}"]`,
  ];
}
