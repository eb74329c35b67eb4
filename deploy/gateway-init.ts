/**
 * First start of the gateway in docker-compose (the container counterpart of gateway/dev.ts): into
 * the gateway's volume it writes THROWAWAY development material — a key store passphrase, the
 * encrypted key store (a submitter key per municipality and for a demo provider), a test CA with
 * server certificates for `gateway` and `token-service` and system certificates for a demo case
 * system and the demo provider, the token-service grants, the genesis and gateway.json — and then
 * registers each municipality on chain with its gateway submitter key, signed by that
 * municipality's authority key. For that one step it mounts the node volumes read-only; the
 * long-running gateway container never sees an authority key. Idempotent: a second start only
 * re-checks the registrations.
 *
 *   node deploy/gateway-init.ts --nodes node-1,node-2,node-3,node-4 [--out /var/lib/tillid] [--node-dirs /nodes]
 */
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerDevParties } from '../gateway/dev-setup.ts';
import { TestCa } from '../gateway/emulators/test-ca.ts';
import { FileKeyStore } from '../gateway/keystore.ts';
import { readKeyFile } from '../node/keyfile.ts';

export const ENTITY_ID = 'urn:tillid:gateway';
export const TOKEN_ISSUER = 'https://sts.emulator.tillid.invalid';
const DEMO_PROVIDER = { cvr: '12345678', name: 'Plejehjemmet Solsiden (demo provider)' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: 'node-1,node-2,node-3,node-4' },
      out: { type: 'string', default: '/var/lib/tillid' },
      'node-dirs': { type: 'string', default: '/nodes' },
      owner: { type: 'string', default: '1000:1000' },
    },
  });
  const out = values.out;
  const ids = values.nodes.split(',').filter(Boolean);
  const genesisFile = join(values['node-dirs'], ids[0] as string, 'genesis.json');
  const genesis = JSON.parse(readFileSync(genesisFile, 'utf8'));
  const nodes = ids.map((id) => {
    const dir = join(values['node-dirs'], id);
    const authority = readKeyFile(join(dir, 'key.json'));
    const record = genesis.authorities.find(
      (a: { publicKey: string }) => a.publicKey === authority.publicKey,
    );
    if (!record) throw new Error(`${id}: its key is not an authority in the genesis`);
    return {
      id,
      name: record.name as string,
      cvr: record.cvr as string,
      url: `http://${id}:7101`,
      authority,
    };
  });
  const first = nodes[0] as (typeof nodes)[number];

  mkdirSync(out, { recursive: true });
  const passphraseFile = join(out, 'passphrase');
  if (!existsSync(passphraseFile))
    writeFileSync(passphraseFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const passphrase = readFileSync(passphraseFile, 'utf8').trim();
  const keysDir = join(out, 'keys');
  for (const cvr of [...nodes.map((n) => n.cvr), DEMO_PROVIDER.cvr])
    if (!FileKeyStore.publicKeyOf(keysDir, cvr)) FileKeyStore.create(keysDir, passphrase, cvr);

  const pki = join(out, 'pki');
  if (!existsSync(join(pki, 'ca.pem'))) {
    const ca = await TestCa.create('Tillid DEV CA (docker-compose) - THROWAWAY');
    const esdh = await ca.issueSystem({
      cvr: first.cvr,
      organisation: first.name,
      system: 'ESDH (demo case system)',
      uid: 'esdh-demo',
    });
    const provider = await ca.issueSystem({
      cvr: DEMO_PROVIDER.cvr,
      organisation: DEMO_PROVIDER.name,
      uid: 'provider-demo',
    });
    TestCa.writeFiles(pki, {
      ca: ca.certPem,
      gateway: await ca.issueServer(['gateway', 'localhost', '127.0.0.1']),
      'token-service': await ca.issueServer(['token-service', 'localhost', '127.0.0.1']),
      esdh,
      provider,
    });
    // The municipality's administrator grants the case system its roles (here: all three).
    const grants = [
      {
        system: esdh.systemId,
        cvr: first.cvr,
        privileges: ['caseworker', 'centre-chief', 'director'].map((r) => ({
          privilege: `urn:dk:tillid:roles:${r}`,
        })),
      },
    ];
    writeFileSync(join(out, 'token-grants.json'), `${JSON.stringify(grants, null, 2)}\n`);
    const config = {
      listen: { host: '0.0.0.0', port: 8080 },
      tls: { certFile: 'pki/gateway.pem', keyFile: 'pki/gateway.key', clientCaFiles: ['pki/ca.pem'] },
      token: {
        issuer: TOKEN_ISSUER,
        audience: ENTITY_ID,
        jwksUrl: 'https://token-service:8443/jwks',
        jwksCaFile: 'pki/ca.pem',
      },
      certificatePrivileges: [{ cvr: DEMO_PROVIDER.cvr, privileges: [{ role: 'provider-representative' }] }],
      topology: 'federated',
      municipalities: nodes.map((n) => ({ cvr: n.cvr, name: n.name, nodes: [n.url] })),
      providers: [DEMO_PROVIDER.cvr],
      agreements: [
        ...['contracts', 'reports', 'network', 'transactions', 'documents', 'events'].map((service) => ({
          system: esdh.systemId,
          service,
          cvr: first.cvr,
        })),
        ...['contracts', 'reports', 'network', 'documents', 'events'].map((service) => ({
          system: provider.systemId,
          service,
          cvr: DEMO_PROVIDER.cvr,
        })),
      ],
      keyStoreDir: 'keys',
      genesisFile: 'genesis.json',
      auditFile: 'audit.jsonl',
      logLevel: 'info',
    };
    copyFileSync(genesisFile, join(out, 'genesis.json'));
    writeFileSync(join(out, 'gateway.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  for (let i = 0; ; i++) {
    const ready = await fetch(`${first.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300) throw new Error(`${first.id} did not become ready`);
    await sleep(200);
  }
  const { registered } = await registerDevParties({
    nodeUrl: first.url,
    keyStore: FileKeyStore.open(keysDir, passphrase),
    municipalities: new Map(nodes.map((n) => [n.cvr, n.authority])),
    providers: [DEMO_PROVIDER.cvr],
  });

  const [uid, gid] = values.owner.split(':').map(Number);
  if (process.getuid?.() === 0) chownTree(out, uid ?? 1000, gid ?? 1000);
  console.log(JSON.stringify({ gateway: 'initialised', registered }));
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, uid, gid);
    else chownSync(path, uid, gid);
  }
}

if (import.meta.main) {
  main().catch((e) => {
    console.error(`gateway-init: ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
}
