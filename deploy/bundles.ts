/** Per-municipality bundles for separate hosts: each member's own compose file, built from public keys only. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerIdForPublicKey } from '../node/p2p/identity.ts';
import { DEFAULT_PARAMS, decodeGenesis, genesisHash } from '../node/protocol/genesis.ts';
import { isValidPublicKey } from '../node/protocol/signature.ts';
import { type Member, slug } from './members.ts';
import { LOGGING_ANCHOR, monitoringServices, writeMonitoringFiles } from './monitoring.ts';

export async function writeBundles(
  members: Member[],
  out: string,
  o: { chainId: string; image: string; blockIntervalMs: number; genesisTime?: number },
): Promise<{ genesisHash: string }> {
  for (const m of members) {
    if (!isValidPublicKey(m.publicKey)) throw new Error(`${m.name}: invalid public key`);
    if (!m.host) throw new Error(`${m.name}: host is required`);
  }
  const authorities = members.filter((m) => (m.role ?? 'authority') === 'authority');
  const address = (m: Member) => `${/^\d+\.\d+\.\d+\.\d+$/.test(m.host) ? 'ip4' : 'dns4'}/${m.host}/tcp/7201`;
  const genesis = decodeGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime ?? Date.now(),
    authorities: authorities.map((m) => ({
      name: m.name,
      cvr: m.cvr,
      publicKey: m.publicKey,
      address: `/${address(m)}`,
    })),
    params: DEFAULT_PARAMS,
  });
  const hash = genesisHash(genesis);
  mkdirSync(out, { recursive: true });
  const genesisText = `${JSON.stringify(genesis, null, 2)}\n`;
  writeFileSync(join(out, 'genesis.json'), genesisText);
  writeFileSync(join(out, 'GENESIS-HASH'), `${hash}\n`);
  const peerAddress = async (m: Member) => `/${address(m)}/p2p/${await peerIdForPublicKey(m.publicKey)}`;
  const observerKeys = members.filter((m) => m.role === 'observer').map((m) => m.publicKey);
  for (const m of members) {
    const dir = join(out, slug(m.name));
    mkdirSync(dir, { recursive: true });
    const peers = await Promise.all(authorities.filter((a) => a !== m).map(peerAddress));
    const config = {
      name: m.name,
      genesisFile: 'genesis.json',
      keyFile: 'key.json',
      dataDir: 'data',
      api: { host: '0.0.0.0', port: 7101 },
      blockIntervalMs: o.blockIntervalMs,
      logLevel: 'info',
      p2p: {
        listen: ['/ip4/0.0.0.0/tcp/7201'],
        peers,
        observers: (m.role ?? 'authority') === 'authority' ? observerKeys : [],
      },
    };
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    writeFileSync(join(dir, 'genesis.json'), genesisText);
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      [
        `# ${m.name} (CVR ${m.cvr}): its own Tillid node, on its own host (${m.host}).`,
        '# The volume tillid-node already holds key.json from the key ceremony (deploy/CEREMONY.md),',
        '# encrypted; its passphrase file (./tillid-key-passphrase, mode 400, owner uid 1000) is the',
        '# secret below, mounted at /run/secrets/tillid-key-passphrase where the node looks for it.',
        '# copy config.json and genesis.json into it, check the genesis hash, then: docker compose up -d',
        '# (or `npm run up -- --file <this file> --monitoring` for Prometheus with the alert rules too).',
        '',
        ...LOGGING_ANCHOR,
        'services:',
        '  node:',
        `    image: ${o.image}`,
        '    restart: unless-stopped',
        '    logging: *logging',
        '    volumes: [tillid-node:/var/lib/tillid]',
        '    secrets: [tillid-key-passphrase]',
        '    ports:',
        '      - "7201:7201"          # p2p: open to the other members (noise-encrypted; allow-list by key)',
        '      - "127.0.0.1:7101:7101" # API: for this municipality\'s gateway and operators only',
        ...monitoringServices({ prometheusPort: 9090, grafanaPort: 3000 }),
        'volumes:',
        '  tillid-node:',
        '    external: true',
        '  prometheus: {}',
        'secrets:',
        '  tillid-key-passphrase:',
        '    file: ./tillid-key-passphrase',
        '',
      ].join('\n'),
    );
    writeMonitoringFiles(dir, ['node:7101']);
    writeFileSync(
      join(dir, 'README.md'),
      `# ${m.name}\n\nRole: ${m.role ?? 'authority'}. Genesis hash: \`${hash}\` — confirm it with every other member` +
        ' over a second channel before starting (deploy/CEREMONY.md, step 4).\n',
    );
  }
  return { genesisHash: hash };
}

/** Writes `<out>/docker-compose.yml` and the monitoring files it mounts (`<out>/monitoring/`). */
