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
 * `--topology central` routes every CVR through `sharedNodes` (all of `--nodes`) instead of its own
 * node, and each `--municipality=<name>:<cvr>` adds a municipality that runs no node: it gets its
 * own submitter key in the key store, is registered on chain signed by the first node's authority
 * key, and the demo case system is granted the same roles and agreements for it as for the first.
 *
 *   node deploy/gateway-init.ts --nodes node-1,node-2,node-3,node-4 [--out /var/lib/tillid] [--node-dirs /nodes]
 *   node deploy/gateway-init.ts --nodes central-1,central-2 --topology central \
 *     --municipality="Kommune 01:29189846" --municipality="Kommune 02:29189847"
 */
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
import {
  DEMO_PROVIDER,
  demoAgreements,
  devGatewayAuth,
  devKeyStore,
  writeDemoPki,
} from '../gateway/dev-material.ts';
import { registerDevParties } from '../gateway/dev-setup.ts';
import { TestCa } from '../gateway/emulators/test-ca.ts';
import { FileKeyStore } from '../gateway/keystore.ts';
import { readNodeConfigKey } from '../node/custody/key-file.ts';

export const ENTITY_ID = 'urn:tillid:gateway';
export const TOKEN_ISSUER = 'https://sts.emulator.tillid.invalid';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: 'node-1,node-2,node-3,node-4' },
      out: { type: 'string', default: '/var/lib/tillid' },
      'node-dirs': { type: 'string', default: '/nodes' },
      owner: { type: 'string', default: '1000:1000' },
      topology: { type: 'string', default: 'federated' },
      municipality: { type: 'string', multiple: true, default: [] },
    },
  });
  const topology = values.topology;
  if (topology !== 'federated' && topology !== 'central')
    throw new Error('--topology must be federated or central');
  const extra = values.municipality.map((spec) => {
    const at = spec.lastIndexOf(':');
    const name = spec.slice(0, at);
    const cvr = spec.slice(at + 1);
    if (at < 1 || !/^\d{8}$/.test(cvr))
      throw new Error(`--municipality=${spec}: expected <name>:<8-digit CVR>`);
    return { name, cvr };
  });
  if (extra.length > 0 && topology !== 'central')
    throw new Error('--municipality (a municipality without a node) needs --topology central');
  const out = values.out;
  const ids = values.nodes.split(',').filter(Boolean);
  const genesisFile = join(values['node-dirs'], ids[0] as string, 'genesis.json');
  const genesis = JSON.parse(readFileSync(genesisFile, 'utf8'));
  const nodes = ids.map((id) => {
    const dir = join(values['node-dirs'], id);
    const authority = readNodeConfigKey(join(dir, 'config.json'));
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
  const central = topology === 'central';
  const routes = [
    ...nodes.map((n) => ({ cvr: n.cvr, name: n.name, nodes: central ? [] : [n.url] })),
    ...extra.map((m) => ({ cvr: m.cvr, name: m.name, nodes: [] as string[] })),
  ];
  if (new Set(routes.map((r) => r.cvr)).size !== routes.length) throw new Error('a CVR is given twice');
  // The CVRs the demo case system acts for: the first node's, and each municipality without a node.
  const esdhCvrs = [first.cvr, ...extra.map((m) => m.cvr)];

  mkdirSync(out, { recursive: true });
  const { passphrase, keysDir } = devKeyStore(
    out,
    routes.map((r) => r.cvr),
  );

  const pki = join(out, 'pki');
  if (!existsSync(join(pki, 'ca.pem'))) {
    const ca = await TestCa.create('Tillid DEV CA (docker-compose) - THROWAWAY');
    const { esdh, provider } = await writeDemoPki(ca, pki, first, (service) => [
      service,
      'localhost',
      '127.0.0.1',
    ]);
    // The municipality's administrator grants the case system its roles (here: all three).
    const grants = esdhCvrs.map((cvr) => ({
      system: esdh.systemId,
      cvr,
      privileges: ['caseworker', 'centre-chief', 'director'].map((r) => ({
        privilege: `urn:dk:tillid:roles:${r}`,
      })),
    }));
    writeFileSync(join(out, 'token-grants.json'), `${JSON.stringify(grants, null, 2)}\n`);
    const config = {
      listen: { host: '0.0.0.0', port: 8080 },
      ...devGatewayAuth({
        issuer: TOKEN_ISSUER,
        audience: ENTITY_ID,
        jwksUrl: 'https://token-service:8443/jwks',
      }),
      certificatePrivileges: [{ cvr: DEMO_PROVIDER.cvr, privileges: [{ role: 'provider-representative' }] }],
      topology,
      ...(central ? { sharedNodes: nodes.map((n) => n.url) } : {}),
      municipalities: routes,
      providers: [DEMO_PROVIDER.cvr],
      agreements: demoAgreements(esdh, esdhCvrs, provider),
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
    // A municipality without a node is registered by the first node's authority (any may).
    municipalities: new Map([
      ...nodes.map((n) => [n.cvr, n.authority] as const),
      ...extra.map((m) => [m.cvr, first.authority] as const),
    ]),
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
