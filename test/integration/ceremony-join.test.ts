/**
 * deploy/CEREMONY.md's joining and key-rotation steps, run as written against real containers
 * (image tillid/node:dev, built first if missing or stale), each node on its own volume and the
 * CLI run in containers as the document says: keys generated in the volume, bundles from
 * `npm run generate -- --bundles`, a newcomer's configuration from `network join` (refused for
 * another genesis), the vote by `docker exec … authority propose|vote`, a key rotation by
 * `authority rotate`, a stop, a key-file swap in a one-off container and a start. Every node
 * finalizes the same chain and `chain verify` passes. Only the Docker host is shared: the
 * containers talk on a user-defined network under their own names (no published ports).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const cli = ['node', '/app/node/cli/tillid.ts'];

after(async () => {
  for (const name of [...members, newcomer]) await docker('rm', '-f', name).catch(() => {});
  for (const name of [...members, newcomer]) await docker('volume', 'rm', name).catch(() => {});
  await docker('network', 'rm', P).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/** `GET path` of a node's API, from inside its container (the API is not published). */
// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely, as an operator's curl would
async function api(container: string, path: string): Promise<any> {
  const out = await docker(
    'exec',
    container,
    'node',
    '-e',
    `fetch('http://127.0.0.1:7101${path}').then(r=>r.text()).then(t=>process.stdout.write(t))`,
  );
  return JSON.parse(out);
}

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
    '-v',
    `${name}:/var/lib/tillid`,
    IMG,
  );

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
        IMG,
        'keys',
        'generate',
        '--out',
        '/var/lib/tillid/key.json',
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
    const bundle = join(work, 'dist', `kommune-${i + 1}`);
    await docker(
      'run',
      '--rm',
      '-v',
      `${name}:/var/lib/tillid`,
      '-v',
      `${bundle}:/in:ro`,
      '--entrypoint',
      'node',
      IMG,
      '-e',
      "for (const f of ['config.json','genesis.json']) require('fs').copyFileSync('/in/'+f, '/var/lib/tillid/'+f)",
    );
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
      IMG,
      'keys',
      'generate',
      '--out',
      '/var/lib/tillid/key.json',
    ),
  );
  const join_ = (genesisDir: string) =>
    docker(
      'run',
      '--rm',
      '--network',
      P,
      '-v',
      `${newcomer}:/var/lib/tillid`,
      '-v',
      `${genesisDir}/genesis.json:/tmp/genesis.json:ro`,
      IMG,
      'network',
      'join',
      '--genesis',
      '/tmp/genesis.json',
      '--from',
      `http://${first}:7101`,
      '--name',
      'Egedal Kommune',
      '--cvr',
      '29188564',
      '--host',
      newcomer,
      '--out',
      '/var/lib/tillid',
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
  await assert.rejects(join_(other), /runs genesis [0-9a-f]{64}.*wrong genesis file or wrong network/);
  const plan = JSON.parse(await join_(join(work, 'dist')));
  assert.equal(plan.publicKey, publicKey);
  assert.equal(plan.address, `/dns4/${newcomer}/tcp/7201`);
  assert.equal(plan.peers.length, 4);

  // Step 5-6: start it; one member proposes, two vote, in their own containers.
  await startNode(newcomer);
  const proposed = await docker(
    'exec',
    first,
    ...cli,
    'authority',
    'propose',
    '--key',
    '/var/lib/tillid/key.json',
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
    await docker(
      'exec',
      voter,
      ...cli,
      'authority',
      'vote',
      '--key',
      '/var/lib/tillid/key.json',
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
    await docker('exec', rotating, ...cli, 'keys', 'generate', '--out', '/var/lib/tillid/key-next.json'),
  ).publicKey as string;
  const rotated = (
    await docker(
      'exec',
      rotating,
      ...cli,
      'authority',
      'rotate',
      '--key',
      '/var/lib/tillid/key.json',
      '--new-key',
      '/var/lib/tillid/key-next.json',
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
  const verified = await docker(
    'exec',
    newcomer,
    ...cli,
    'chain',
    'verify',
    '--genesis',
    '/var/lib/tillid/genesis.json',
    '--api',
    `http://${members[2]}:7101`,
  );
  assert.match(verified, /^OK: \d+ blocks verified/);
  assert.ok(readFileSync(join(work, 'dist', 'GENESIS-HASH'), 'utf8').trim().length === 64);
});
