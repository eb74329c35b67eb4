/**
 * Issue 13's done-when test: four municipalities and a joiner as separate hosts, each a node
 * process in its own network namespace, reachable by the others only through its published ports
 * (API 7101, p2p 7201 — the same on every host) behind a relay that delays every chunk 5–15 ms each
 * way, as a WAN between data centres would. deploy/CEREMONY.md's commands run as written, each on
 * its host (`ip netns exec <host> node node/cli/tillid.ts …` where the document runs the image's
 * `tillid` in a container): keys generated on their hosts, encrypted under passphrase files, one
 * in SoftHSM2; bundles from `npm run generate -- --bundles`; the genesis hash checked on every host;
 * TLS on every API. The joiner's configuration comes from `network join` (refused for another
 * genesis), the authorities vote it in, one authority rotates its key, and then every node holds
 * the same finalized chain, `chain verify --ca` passes on each host, and the retired key is refused.
 *
 * Where the container provides something, the environment does instead (the key and the chain's
 * location: TILLID_KEY_FILE / TILLID_DATA_DIR, node/config.ts; the passphrase file: the
 * TILLID_PASSPHRASE_FILE the CLI and node read where /run/secrets is absent); the only edited file
 * is the HSM member's config.json, which CEREMONY.md step 1 tells its operator to edit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDevPki, writeTlsFiles } from '../../deploy/bundle-pki.ts';
import { nodeFetch } from '../../gateway/node-fetch.ts';
import { waitFor } from '../fixtures/node.ts';
import { softHsmToken, useSoftHsm } from '../fixtures/softhsm.ts';
import { startWanHosts, type WanHost, type WanHosts } from '../fixtures/wan-hosts.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'tillid-wanhosts-'));
useSoftHsm(work);
let net: WanHosts | undefined;
after(async () => {
  await net?.close();
  rmSync(work, { recursive: true, force: true });
});

const HSM_MEMBER = 3; // Kommune 4 keeps its key in SoftHSM2
const ROTATING = 1; // Kommune 2 rotates its key
const hostDir = (i: number) => join(work, `host-${i + 1}`);
/** What the node's volume (/var/lib/tillid) holds on host i. */
const volume = (i: number) => join(hostDir(i), 'var-lib-tillid');
const passphrase = (i: number) => join(hostDir(i), 'tillid-key-passphrase');
const bundle = (i: number) => join(work, 'dist', `kommune-${i + 1}`);
const chainEnv = (i: number) => ({
  TILLID_PASSPHRASE_FILE: passphrase(i),
  // The bundles keep the production pace for empty blocks (ten minutes); the test watches the
  // chain advance without transactions.
  TILLID_EMPTY_BLOCK_INTERVAL_MS: '500',
});

// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely, as an operator's curl would
type Json = any;

test('four municipalities and a joiner on separate hosts over a delaying WAN, by the ceremony commands', async () => {
  net = await startWanHosts(5, [7201, 7101], { delayMs: 5, jitterMs: 10 });
  const wan = net;
  const hosts = wan.hosts;
  const host = (i: number) => hosts[i] as WanHost;
  const on = async (i: number, args: string[]) => (await wan.tillid(host(i), args, chainEnv(i))).stdout;
  const api = (i: number) => `https://${host(i).publicIp}:7101`;

  // Key ceremony, step 1, on each member's host: the passphrase file, then the key (or the HSM key).
  const list = [];
  for (let i = 0; i < 4; i++) {
    mkdirSync(volume(i), { recursive: true });
    writeFileSync(passphrase(i), `${randomBytes(24).toString('base64')}\n`, { mode: 0o400 });
    let publicKey: string;
    if (i === HSM_MEMBER) {
      const token = softHsmToken(hostDir(i), 'kommune-4', 'tillid-authority');
      publicKey = JSON.parse(
        await on(i, ['keys', 'hsm-generate', '--hsm', token.hsmFile, '--data-dir', join(volume(i), 'data')]),
      ).publicKey;
    } else {
      const made = JSON.parse(
        await on(i, [
          'keys',
          'generate',
          '--out',
          join(volume(i), 'key.json'),
          '--data-dir',
          join(volume(i), 'data'),
        ]),
      );
      assert.equal(made.encrypted, true);
      publicKey = made.publicKey;
    }
    // Step 2: only { name, cvr, publicKey, host } leaves the host.
    list.push({ name: `Kommune ${i + 1}`, cvr: String(29189846 + i), publicKey, host: host(i).publicIp });
  }
  const hsmKey = list[HSM_MEMBER]?.publicKey as string;
  assert.equal(
    existsSync(join(volume(HSM_MEMBER), 'key.json')),
    false,
    'the HSM key exists only in the token',
  );

  // Step 3, the coordinator: genesis and bundles.
  writeFileSync(join(work, 'members.json'), JSON.stringify(list));
  await wan.node(host(0), [
    join(ROOT, 'deploy', 'generate.ts'),
    '--bundles',
    '--members',
    join(work, 'members.json'),
    '--chain-id',
    'tillid',
    '--out',
    join(work, 'dist'),
  ]);
  const agreed = readFileSync(join(work, 'dist', 'GENESIS-HASH'), 'utf8').trim();

  // Step 4, everyone: the genesis hash from each host's own copy.
  for (let i = 0; i < 4; i++)
    assert.equal(
      (await on(i, ['genesis', 'hash', '--genesis', join(bundle(i), 'node', 'genesis.json')])).trim(),
      agreed,
    );

  // Step 5: install and start. The HSM member's config gets the `hsm` object instead of keyFile.
  const hsmConfig = join(bundle(HSM_MEMBER), 'node', 'config.json');
  const edited = JSON.parse(readFileSync(hsmConfig, 'utf8'));
  delete edited.keyFile;
  edited.hsm = JSON.parse(readFileSync(join(hostDir(HSM_MEMBER), 'kommune-4.hsm.json'), 'utf8')).hsm;
  writeFileSync(hsmConfig, JSON.stringify(edited, null, 2));
  const nodes = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      wan.startNode(host(i), join(bundle(i), 'node', 'config.json'), {
        ...chainEnv(i),
        ...(i === HSM_MEMBER ? {} : { TILLID_KEY_FILE: join(volume(i), 'key.json') }),
        TILLID_DATA_DIR: join(volume(i), 'data'),
      }),
    ),
  );
  const memberCa = readFileSync(join(work, 'dist', 'THROWAWAY-DEV-CA.pem'), 'utf8');
  const call = nodeFetch(memberCa);
  const get = async (url: string): Promise<Json> => {
    const r = await call(url);
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  };
  for (let i = 0; i < 4; i++) assert.equal((await get(`${api(i)}/v1/status`)).genesisHash, agreed);

  // Separate hosts: host 1 reaches host 2's published port, never host 2's own address.
  const probe = (target: string) =>
    wan
      .node(host(0), [
        '-e',
        `const s=require('net').connect(7101,${JSON.stringify(target)});s.setTimeout(1500);` +
          "s.on('connect',()=>{console.log('open');process.exit(0)});" +
          "s.on('timeout',()=>{console.log('unreachable');process.exit(0)});s.on('error',e=>{console.log('unreachable');process.exit(0)})",
      ])
      .then((r) => r.stdout.trim());
  assert.equal(await probe(host(1).publicIp), 'open');
  assert.equal(await probe(host(1).ownIp), 'unreachable');

  await waitFor(async () => ((await get(`${api(0)}/v1/status`)).height >= 3 ? true : undefined), 90_000);

  // Joining, steps 1-3 on the joiner's host: its key, the genesis from a member, its TLS files
  // (a server certificate from its own PKI; ca.pem: the CA of the members' node certificates).
  const J = 4;
  mkdirSync(volume(J), { recursive: true });
  writeFileSync(passphrase(J), `${randomBytes(24).toString('base64')}\n`, { mode: 0o400 });
  const { publicKey } = JSON.parse(
    await on(J, [
      'keys',
      'generate',
      '--out',
      join(volume(J), 'key.json'),
      '--data-dir',
      join(volume(J), 'data'),
    ]),
  );
  const genesisCopy = join(hostDir(J), 'genesis.json');
  writeFileSync(genesisCopy, readFileSync(join(bundle(0), 'node', 'genesis.json')));
  assert.equal((await on(J, ['genesis', 'hash', '--genesis', genesisCopy])).trim(), agreed);
  const joinerPki = await createDevPki();
  const nodeDir = join(hostDir(J), 'node');
  // ca.pem: the CA of the members' node certificates and the joiner's own (its API's), one file.
  writeTlsFiles(
    join(nodeDir, 'tls'),
    `${memberCa.trim()}\n${joinerPki.caPem.trim()}\n`,
    'node',
    await joinerPki.issue([host(J).publicIp]),
  );
  const joinerCa = join(nodeDir, 'tls', 'ca.pem');

  // Step 4: the configuration from the genesis and the network; another network's genesis is refused.
  const joinArgs = (genesis: string) => [
    'network',
    'join',
    '--genesis',
    genesis,
    '--from',
    api(0),
    '--ca',
    join(nodeDir, 'tls', 'ca.pem'),
    '--name',
    'Egedal Kommune',
    '--cvr',
    '29188564',
    '--host',
    host(J).publicIp,
    '--out',
    nodeDir,
    '--key',
    join(volume(J), 'key.json'),
    '--data-dir',
    join(volume(J), 'data'),
    '--api-host',
    '0.0.0.0',
    '--tls-cert',
    'tls/node.pem',
    '--tls-key',
    'tls/node.key',
  ];
  await on(J, ['network', 'init', '--out', join(hostDir(J), 'other'), '--chain-id', 'tillid']);
  await assert.rejects(
    on(J, joinArgs(join(hostDir(J), 'other', 'genesis.json'))),
    /runs genesis [0-9a-f]{64}.*wrong genesis file or wrong network/,
  );
  assert.equal(existsSync(join(nodeDir, 'config.json')), false, 'a refused join writes nothing');
  const plan = JSON.parse(await on(J, joinArgs(genesisCopy)));
  assert.equal(plan.publicKey, publicKey);
  assert.equal(plan.address, `/ip4/${host(J).publicIp}/tcp/7201`);
  assert.equal(plan.peers.length, 4);

  // Step 6: start it — no file edited; the members refuse it until the vote takes effect.
  nodes.push(await wan.startNode(host(J), join(nodeDir, 'config.json'), chainEnv(J)));
  const joinerCall = nodeFetch(readFileSync(joinerCa, 'utf8'));
  /** `GET path` of host i's node API, trusting that host's CA. */
  const getOn = async (i: number, path: string): Promise<Json> => {
    const r = await (i === J ? joinerCall : call)(`${api(i)}${path}`);
    if (!r.ok) throw new Error(`${api(i)}${path}: ${r.status}`);
    return r.json();
  };
  const joinerStatus = () => getOn(J, '/v1/status');

  // Step 7: one authority proposes, two vote — one of them signing in SoftHSM2 — each on its host
  // against its own node.
  const ca = (i: number) => join(bundle(i), 'node', 'tls', 'ca.pem');
  const keyOf = (i: number) =>
    i === HSM_MEMBER ? join(hostDir(i), 'kommune-4.hsm.json') : join(volume(i), 'key.json');
  const proposed = await on(0, [
    'authority',
    'propose',
    '--key',
    keyOf(0),
    '--api',
    api(0),
    '--ca',
    ca(0),
    '--action',
    'add',
    '--name',
    'Egedal Kommune',
    '--cvr',
    '29188564',
    '--public-key',
    publicKey,
    '--address',
    plan.address,
    '--wait',
  ]);
  const proposal = JSON.parse(proposed.split('\n')[0] as string).hash as string;
  for (const voter of [2, HSM_MEMBER])
    await on(voter, [
      'authority',
      'vote',
      '--key',
      keyOf(voter),
      '--api',
      api(voter),
      '--ca',
      ca(voter),
      '--proposal',
      proposal,
      '--wait',
    ]);
  const { effectiveFrom } = await get(`${api(0)}/v1/governance/proposals/${proposal}`);
  await waitFor(async () => {
    const s = await joinerStatus();
    return s.height >= effectiveFrom + 3 && s.peers.length === 4 ? true : undefined;
  }, 120_000);
  const signedBy = async (i: number, key: string) => {
    const head = (await getOn(i, '/v1/status')).height;
    const block = await getOn(i, `/v1/blocks/${head}`);
    return block.certificate.signatures.map((s: { authority: string }) => s.authority).includes(key);
  };
  await waitFor(async () => ((await signedBy(J, publicKey)) ? true : undefined), 60_000);
  await waitFor(async () => ((await signedBy(0, hsmKey)) ? true : undefined), 60_000);

  // Rotating Kommune 2's key, as written: a new key in the volume, the rotation, a stop, the swap,
  // a start.
  const R = ROTATING;
  const next = JSON.parse(await on(R, ['keys', 'generate', '--out', join(volume(R), 'key-next.json')]))
    .publicKey as string;
  const rotated = (
    await on(R, [
      'authority',
      'rotate',
      '--key',
      join(volume(R), 'key.json'),
      '--new-key',
      join(volume(R), 'key-next.json'),
      '--api',
      api(R),
      '--ca',
      ca(R),
      '--wait',
    ])
  )
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const rotation = rotated[2] as { from: string; to: string; effectiveFrom: number };
  assert.equal(rotation.to, next);
  assert.equal(rotation.from, list[R]?.publicKey);
  const old = nodes[R];
  const exited = new Promise((resolve) => old?.once('exit', resolve));
  old?.kill('SIGTERM');
  await exited;
  await wan.node(host(R), [
    '-e',
    `const fs=require('fs');process.chdir(${JSON.stringify(volume(R))});fs.renameSync('key.json','key-retired.json');fs.renameSync('key-next.json','key.json')`,
  ]);
  nodes[R] = await wan.startNode(host(R), join(bundle(R), 'node', 'config.json'), {
    ...chainEnv(R),
    TILLID_KEY_FILE: join(volume(R), 'key.json'),
    TILLID_DATA_DIR: join(volume(R), 'data'),
  });
  await waitFor(async () => {
    const head = (await get(`${api(0)}/v1/status`)).height;
    if (head < rotation.effectiveFrom + 2) return undefined;
    const signers = (await get(`${api(0)}/v1/blocks/${head}`)).certificate.signatures.map(
      (s: { authority: string }) => s.authority,
    );
    assert.ok(!signers.includes(rotation.from), 'the old key signs no certificate after the rotation');
    return signers.includes(next) ? true : undefined;
  }, 120_000);

  // The retired key is refused as an authority: its proposal is rejected and changes nothing.
  const retired = await wan.tillidExit(
    host(R),
    [
      'authority',
      'propose',
      '--key',
      join(volume(R), 'key-retired.json'),
      '--api',
      api(R),
      '--ca',
      ca(R),
      '--action',
      'remove',
      '--name',
      'Egedal Kommune',
      '--cvr',
      '29188564',
      '--public-key',
      publicKey,
      '--wait',
    ],
    chainEnv(R),
  );
  assert.equal(retired.code, 1, retired.stderr);
  const outcome = JSON.parse(retired.stdout.trim().split('\n')[1] as string);
  assert.equal(outcome.status, 'rejected');
  assert.equal(outcome.code, 'GOVERNANCE_REFUSED', outcome.message);
  const authorities = await get(`${api(0)}/v1/authorities`);
  assert.ok(JSON.stringify(authorities).includes(publicKey), 'the joiner is still an authority');

  // Every node holds the same finalized chain, and it verifies from the genesis on every host.
  const height = (await get(`${api(0)}/v1/status`)).height;
  const hashes = new Set<string>();
  for (let i = 0; i <= J; i++) {
    await waitFor(async () => ((await getOn(i, '/v1/status')).height >= height ? true : undefined), 60_000);
    hashes.add((await getOn(i, `/v1/blocks/${height}`)).certificate.blockHash);
  }
  assert.equal(hashes.size, 1, `all five hold the same block ${height}`);
  for (let i = 0; i <= J; i++) {
    const verified = await on(i, [
      'chain',
      'verify',
      '--genesis',
      i === J ? join(nodeDir, 'genesis.json') : join(bundle(i), 'node', 'genesis.json'),
      '--api',
      api(i),
      '--ca',
      i === J ? joinerCa : ca(i),
    ]);
    assert.match(verified, /^OK: \d+ blocks verified/);
  }
});
