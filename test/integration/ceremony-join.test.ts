/**
 * deploy/CEREMONY.md's joining and key-rotation steps, run as written against real containers
 * (the node image, built first if missing or stale), each node on its own volume with its bundle's
 * `node/` directory mounted as the bundle's compose file does, HTTPS APIs with the bundles' CA, and
 * the CLI in one-off containers of the node (what `docker compose run --rm --no-deps node …` runs):
 * keys generated in the volume, bundles from `npm run generate -- --bundles`, a newcomer's
 * configuration from `network join` (refused for another genesis), the vote by `authority
 * propose|vote`, a key rotation by `authority rotate`, a stop, a key-file swap in a one-off
 * container and a start. Every node finalizes the same chain and `chain verify` passes. Only the
 * Docker host is shared: the containers talk on a user-defined network under their own names (no
 * published ports).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { ensureImages, NODE_IMAGE_TAG } from '../../docker/build-images.ts';
import { docker, waitUntil } from './cluster.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const P = `tillid-ceremony-${process.pid}`;
const IMG = NODE_IMAGE_TAG;
const members = [1, 2, 3, 4].map((i) => `${P}-m${i}`);
const newcomer = `${P}-j`;
const work = mkdtempSync(join(tmpdir(), 'tillid-ceremony-'));

after(async () => {
  for (const name of [...members, newcomer]) await docker('rm', '-f', name).catch(() => {});
  for (const name of [...members, newcomer]) await docker('volume', 'rm', name).catch(() => {});
  await docker('network', 'rm', P).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/**
 * Each member's key passphrase: a file on its host, mounted as the secret the node and the CLI read
 * (/run/secrets/tillid-key-passphrase) into every container that uses its volume — as the bundle's
 * compose file does. Readable by the containers' uid 1000 (no chown without sudo in CI).
 */
const secret = (volume: string): string[] => {
  const file = join(work, `${volume}.passphrase`);
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(24).toString('base64')}\n`, { mode: 0o644 });
  return ['-v', `${file}:/run/secrets/tillid-key-passphrase:ro`];
};

const CA = '/etc/tillid/tls/ca.pem';
/** A member's node directory (the bundle's `node/`), as its compose file mounts it. */
const nodeDir = (i: number) => join(work, 'dist', `kommune-${i + 1}`, 'node');
const newcomerDir = join(work, 'newcomer-node');
const dirOf = (name: string) => (name === newcomer ? newcomerDir : nodeDir(members.indexOf(name)));
const apiOf = (name: string) => (name === newcomer ? `http://${name}:7101` : `https://${name}:7101`);

/**
 * `tillid <args>` in a one-off container of `name`'s node service — what `docker compose run --rm
 * --no-deps node <args>` runs in the bundle directory: the volume and the node directory mounted.
 */
const tillidIn = (name: string, ...args: string[]) =>
  docker(
    'run',
    '--rm',
    '--network',
    P,
    '-v',
    `${name}:/var/lib/tillid`,
    ...secret(name),
    '-v',
    `${dirOf(name)}:/etc/tillid:ro`,
    IMG,
    ...args,
  );

/** `GET path` of a node's API, from a container on the consortium's network (HTTPS with the bundle CA). */
// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely, as an operator's curl would
async function api(name: string, path: string): Promise<any> {
  const script =
    `const u=new URL(${JSON.stringify(apiOf(name) + path)});` +
    "const m=require(u.protocol==='https:'?'https':'http');" +
    `m.get(u,{ca:require('fs').readFileSync('/ca.pem')},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>process.stdout.write(b))}).on('error',e=>{console.error(e.message);process.exit(1)})`;
  const out = await docker(
    'run',
    '--rm',
    '--network',
    P,
    '-v',
    `${join(work, 'dist', 'THROWAWAY-DEV-CA.pem')}:/ca.pem:ro`,
    '--entrypoint',
    'node',
    IMG,
    '-e',
    script,
  );
  return JSON.parse(out);
}

/** Starts a node as its bundle's compose file does: volume, node directory read-only, API on all interfaces. */
const startNode = (name: string) =>
  docker(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    P,
    '--network-alias',
    name,
    '-e',
    'TILLID_API_HOST=0.0.0.0',
    // An idle network makes an empty block only every 10 minutes by default; this test waits for
    // heights (and a rotation takes effect two blocks after it is decided), so blocks keep coming.
    '-e',
    'TILLID_EMPTY_BLOCK_INTERVAL_MS=500',
    '-v',
    `${name}:/var/lib/tillid`,
    ...secret(name),
    '-v',
    `${dirOf(name)}:/etc/tillid:ro`,
    IMG,
    'node',
    'start',
    '--config',
    '/etc/tillid/config.json',
  );

/** What the bundle README's `sudo chown -R 1000:1000 node/tls` does: the node runs as uid 1000. */
function chownTree(dir: string): void {
  chownSync(dir, 1000, 1000);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path);
    else chownSync(path, 1000, 1000);
  }
}

test('a newcomer joins with no edited file and an authority rotates its key, by the ceremony commands', async () => {
  ensureImages(['node']);
  await docker('network', 'create', P);

  // Steps 1-5 for four members: keys in their volumes, bundles, files into the volumes, start.
  const list = [];
  for (const [i, name] of members.entries()) {
    await docker('volume', 'create', name);
    const key = JSON.parse(
      await docker(
        'run',
        '--rm',
        '-v',
        `${name}:/var/lib/tillid`,
        ...secret(name),
        IMG,
        'keys',
        'generate',
        '--out',
        '/var/lib/tillid/key.json',
        '--data-dir',
        '/var/lib/tillid/data',
      ),
    );
    list.push({ name: `Kommune ${i + 1}`, cvr: String(29189846 + i), publicKey: key.publicKey, host: name });
  }
  writeFileSync(join(work, 'members.json'), JSON.stringify(list));
  await run(process.execPath, [
    join(ROOT, 'deploy', 'generate.ts'),
    '--bundles',
    '--members',
    join(work, 'members.json'),
    '--chain-id',
    'tillid',
    '--out',
    join(work, 'dist'),
    '--image',
    IMG,
  ]);
  for (const [i, name] of members.entries()) {
    if (process.getuid?.() === 0) chownTree(nodeDir(i));
    await startNode(name);
  }
  const first = members[0] as string;
  await waitUntil(
    async () => ((await api(first, '/v1/status')).height >= 3 ? true : undefined),
    180_000,
    'first blocks',
  );

  // Joining, step 1-3: key in the newcomer's volume; a genesis of another network is refused.
  await docker('volume', 'create', newcomer);
  const { publicKey } = JSON.parse(
    await docker(
      'run',
      '--rm',
      '-v',
      `${newcomer}:/var/lib/tillid`,
      ...secret(newcomer),
      IMG,
      'keys',
      'generate',
      '--out',
      '/var/lib/tillid/key.json',
      '--data-dir',
      '/var/lib/tillid/data',
    ),
  );
  mkdirSync(newcomerDir);
  if (process.getuid?.() === 0) chownTree(newcomerDir);
  const join_ = (genesisFile: string) =>
    docker(
      'run',
      '--rm',
      '--network',
      P,
      '-v',
      `${newcomer}:/var/lib/tillid`,
      ...secret(newcomer),
      '-v',
      `${newcomerDir}:/etc/tillid`,
      '-v',
      `${genesisFile}:/tmp/genesis.json:ro`,
      '-v',
      `${join(work, 'dist', 'THROWAWAY-DEV-CA.pem')}:/tmp/ca.pem:ro`,
      IMG,
      'network',
      'join',
      '--genesis',
      '/tmp/genesis.json',
      '--from',
      `https://${members[0]}:7101`,
      '--ca',
      '/tmp/ca.pem',
      '--name',
      'Egedal Kommune',
      '--cvr',
      '29188564',
      '--host',
      newcomer,
      '--out',
      '/etc/tillid',
      '--key',
      '/var/lib/tillid/key.json',
      '--data-dir',
      '/var/lib/tillid/data',
      '--api-host',
      '0.0.0.0',
    );
  const other = join(work, 'other');
  await run(process.execPath, [
    join(ROOT, 'node', 'cli', 'tillid.ts'),
    'network',
    'init',
    '--out',
    other,
    '--chain-id',
    'tillid',
  ]);
  await assert.rejects(
    join_(join(other, 'genesis.json')),
    /runs genesis [0-9a-f]{64}.*wrong genesis file or wrong network/,
  );
  const plan = JSON.parse(await join_(join(work, 'dist', 'genesis.json')));
  assert.ok(!existsSync(join(newcomerDir, 'data')), 'the chain goes to the volume');
  assert.equal(plan.publicKey, publicKey);
  assert.equal(plan.address, `/dns4/${newcomer}/tcp/7201`);
  assert.equal(plan.peers.length, 4);

  // Step 5-6: start it; one member proposes, two vote, in their own containers.
  await startNode(newcomer);
  const proposed = await tillidIn(
    first,
    'authority',
    'propose',
    '--key',
    '/var/lib/tillid/key.json',
    '--api',
    apiOf(first),
    '--ca',
    CA,
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
  );
  const proposal = JSON.parse(proposed.split('\n')[0] as string).hash as string;
  for (const voter of [members[1], members[2]] as string[])
    await tillidIn(
      voter,
      'authority',
      'vote',
      '--key',
      '/var/lib/tillid/key.json',
      '--api',
      apiOf(voter),
      '--ca',
      CA,
      '--proposal',
      proposal,
      '--wait',
    );
  const { effectiveFrom } = await api(first, `/v1/governance/proposals/${proposal}`);
  await waitUntil(
    async () => {
      const s = await api(newcomer, '/v1/status');
      return s.height >= effectiveFrom + 5 && s.peers.length === 4 ? true : undefined;
    },
    180_000,
    'the newcomer connected and caught up',
  );
  await waitUntil(
    async () => {
      const head = (await api(newcomer, '/v1/status')).height;
      const block = await api(newcomer, `/v1/blocks/${head}`);
      return block.certificate.signatures.some((s: { authority: string }) => s.authority === publicKey)
        ? true
        : undefined;
    },
    120_000,
    "the newcomer's signature in a certificate",
  );

  // Rotating the second member's key, as written.
  const rotating = members[1] as string;
  const next = JSON.parse(
    await tillidIn(rotating, 'keys', 'generate', '--out', '/var/lib/tillid/key-next.json'),
  ).publicKey as string;
  const rotated = (
    await tillidIn(
      rotating,
      'authority',
      'rotate',
      '--key',
      '/var/lib/tillid/key.json',
      '--new-key',
      '/var/lib/tillid/key-next.json',
      '--api',
      apiOf(rotating),
      '--ca',
      CA,
      '--wait',
    )
  )
    .split('\n')
    .map((l) => JSON.parse(l));
  const rotation = rotated[2] as { from: string; to: string; effectiveFrom: number };
  assert.equal(rotation.to, next);
  await docker('stop', rotating);
  await docker(
    'run',
    '--rm',
    '-v',
    `${rotating}:/var/lib/tillid`,
    ...secret(rotating),
    '--entrypoint',
    'node',
    IMG,
    '-e',
    "const fs=require('fs');process.chdir('/var/lib/tillid');fs.renameSync('key.json','key-retired.json');fs.renameSync('key-next.json','key.json')",
  );
  await docker('start', rotating);
  await waitUntil(
    async () => {
      const head = (await api(first, '/v1/status')).height;
      if (head < rotation.effectiveFrom + 3) return undefined;
      const signers = (await api(first, `/v1/blocks/${head}`)).certificate.signatures.map(
        (s: { authority: string }) => s.authority,
      );
      assert.ok(!signers.includes(rotation.from));
      return signers.includes(next) ? true : undefined;
    },
    180_000,
    "the rotated key's signature in a certificate",
  );

  // Every node holds the same chain, and it verifies from the genesis.
  const height = (await api(first, '/v1/status')).height;
  const hashes = new Set<string>();
  for (const name of [...members, newcomer]) {
    await waitUntil(
      async () => ((await api(name, '/v1/status')).height >= height ? true : undefined),
      60_000,
      `${name} at ${height}`,
    );
    hashes.add((await api(name, `/v1/blocks/${height}`)).certificate.blockHash);
  }
  assert.equal(hashes.size, 1);
  const verified = await tillidIn(
    members[2] as string,
    'chain',
    'verify',
    '--genesis',
    '/etc/tillid/genesis.json',
    '--api',
    apiOf(newcomer),
  );
  assert.match(verified, /^OK: \d+ blocks verified/);
  assert.ok(readFileSync(join(work, 'dist', 'GENESIS-HASH'), 'utf8').trim().length === 64);
});
