/**
 * A municipality's bundle run as its README says, in containers: the key made in the node's volume
 * (key ceremony step 1), the bundle generated from its public key, the node started from the
 * bundle as it is (HTTPS API, health check on TLS), the gateway's key store made with a passphrase
 * from a Docker secret, the municipality registered on chain with the CLI inside the node
 * container, and the gateway reading the chain over HTTPS with the bundle's node CA — answering a
 * case system's OCES-style certificate. One authority, so it finalizes alone; the Docker engine is
 * shared, so the names and ports are this run's own (the bundle's compose file takes the volume and
 * the gateway port from the environment, defaulting to the ceremony's).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { writeBundles } from '../../deploy/bundles.ts';
import type { Member } from '../../deploy/members.ts';
import { composeCommand } from '../../deploy/up.ts';
import { ensureImages, GATEWAY_IMAGE_TAG, NODE_IMAGE_TAG } from '../../docker/build-images.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';
import { nodeFetch } from '../../gateway/node-fetch.ts';
import { httpsJson } from '../fixtures/http.ts';
import { tempDir, waitFor } from '../fixtures/node.ts';
import { docker } from './cluster.ts';

const run = promisify(execFile);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

test("a municipality's bundle runs as its README says: node and gateway over HTTPS", {
  timeout: 600_000,
}, async (t) => {
  ensureImages(['node', 'gateway']);
  const id = randomBytes(4).toString('hex');
  const dir = tempDir(t, 'tillid-bundle-');
  chmodSync(dir, 0o755);
  const volume = `tillid-bundle-${id}-node`;
  const gatewayPort = await freePort();
  const env = { ...process.env, TILLID_NODE_VOLUME: volume, TILLID_GATEWAY_PORT: String(gatewayPort) };

  // Key ceremony step 1, on "this host".
  // Removed by name when the test ends, whatever state it stopped in (the bundle folder is gone by
  // then: temporary directories are removed first).
  const slug = `bundle-${id}-kommune`;
  t.after(async () => {
    const quietly = (...args: string[]) => docker(...args).catch(() => undefined);
    await quietly('rm', '-f', `tillid-${slug}-node`, `tillid-${slug}-gateway`);
    await quietly('network', 'rm', `tillid-${slug}`);
    await quietly('volume', 'rm', '-f', volume, `tillid-${slug}-gateway`, `tillid-${slug}-prometheus`);
  });
  await docker('volume', 'create', volume);
  // README step 2: the key is encrypted under a passphrase from a file, mounted as the secret the
  // node reads (readable by the containers' uid 1000: no chown without sudo in CI).
  const passphrase = join(dir, 'tillid-key-passphrase');
  writeFileSync(passphrase, `${randomBytes(24).toString('base64')}\n`, { mode: 0o644 });
  const generated = JSON.parse(
    await docker(
      'run',
      '--rm',
      '-v',
      `${volume}:/var/lib/tillid`,
      '-v',
      `${passphrase}:/run/secrets/tillid-key-passphrase:ro`,
      NODE_IMAGE_TAG,
      'keys',
      'generate',
      '--out',
      '/var/lib/tillid/key.json',
      '--data-dir',
      '/var/lib/tillid/data',
    ),
  ) as { publicKey: string };

  const oces = await TestCa.create('Stand-in for the OCES3 CA (test)');
  const esdh = await oces.issueSystem({ cvr: '29189846', organisation: 'Bundle Kommune', system: 'ESDH' });
  writeFileSync(join(dir, 'oces3.pem'), oces.certPem);
  const host = `tillid-${id}.kommune.example`;
  const member: Member = {
    name: `Bundle ${id} Kommune`,
    cvr: '29189846',
    publicKey: generated.publicKey,
    host,
    p2pPort: await freePort(),
    apiPort: await freePort(),
    gateway: {
      clientCaFiles: [join(dir, 'oces3.pem')],
      certificatePrivileges: [{ cvr: '29189846', privileges: [{ role: 'caseworker' }] }],
      agreements: [{ system: esdh.systemId, service: 'network' }],
    },
  };
  await writeBundles([member], join(dir, 'dist'), {
    chainId: `tillid-bundle-${id}`,
    image: NODE_IMAGE_TAG,
    gatewayImage: GATEWAY_IMAGE_TAG,
    blockIntervalMs: 200,
    // The test watches the chain advance without transactions: empty blocks at the block pace.
    emptyBlockIntervalMs: 200,
  });
  const bundle = join(dir, 'dist', slug);
  mkdirSync(join(bundle, 'secrets'), { recursive: true });
  copyFileSync(passphrase, join(bundle, 'secrets', 'tillid-key-passphrase'));
  const compose = composeCommand();
  const composeRun = async (...args: string[]) => {
    try {
      const { stdout } = await run(compose[0] as string, [...compose.slice(1), ...args], {
        cwd: bundle,
        env,
        timeout: 180_000,
      });
      return stdout;
    } catch (e) {
      throw new Error(
        `compose ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`,
      );
    }
  };

  // README step 3: the containers' uid 1000 gets the TLS keys (through a container: no sudo in CI).
  await docker(
    'run',
    '--rm',
    '--user',
    '0',
    '-v',
    `${bundle}:/b`,
    '--entrypoint',
    'node',
    NODE_IMAGE_TAG,
    '-e',
    "for (const d of ['/b/node/tls','/b/gateway/tls']) for (const f of ['', ...require('fs').readdirSync(d)]) require('fs').chownSync(d+'/'+f, 1000, 1000)",
  );

  // Step 4: the node, and its chain finalizing over HTTPS.
  await composeRun('up', '-d', 'node');
  const call = nodeFetch(readFileSync(join(bundle, 'node', 'tls', 'ca.pem'), 'utf8'));
  const api = `https://127.0.0.1:${member.apiPort}`;
  await waitFor(async () => {
    const status = (await (await call(`${api}/v1/status`).catch(() => undefined))?.json()) as
      | { finalizedHeight: number }
      | undefined;
    return (status?.finalizedHeight ?? 0) >= 2 || undefined;
  }, 120_000);
  await waitFor(
    async () =>
      (await docker('inspect', '-f', '{{.State.Health.Status}}', `tillid-${slug}-node`)) === 'healthy' ||
      undefined,
    120_000,
  );

  // Step 5: passphrase secret, key store, registration by the CLI in the node container, gateway.
  await run('mkdir', ['-p', join(bundle, 'secrets')]);
  writeFileSync(join(bundle, 'secrets', 'keystore-passphrase'), `${randomBytes(24).toString('base64')}\n`, {
    mode: 0o644,
  });
  const created = JSON.parse(
    (
      await composeRun(
        'run',
        '--rm',
        '--no-deps',
        'gateway',
        'keys',
        'create',
        '--dir',
        '/var/lib/tillid/keys',
        '--cvr',
        member.cvr,
      )
    ).trim(),
  ) as { publicKey: string };
  const registered = await composeRun(
    'run',
    '--rm',
    '--no-deps',
    'node',
    'party',
    'register',
    '--key',
    '/var/lib/tillid/key.json',
    '--cvr',
    member.cvr,
    '--kind',
    'municipality',
    '--grant',
    `${created.publicKey}:caseworker,centre-chief,director:admin`,
    '--api',
    `https://${host}:${member.apiPort}`,
    '--ca',
    '/etc/tillid/tls/ca.pem',
    '--wait',
  );
  assert.match(registered, /"status":"finalized"/);
  await composeRun('up', '-d', 'gateway');

  const network = await waitFor(async () => {
    const answer = await httpsJson({
      url: `https://127.0.0.1:${gatewayPort}/v1/network`,
      options: {
        ca: readFileSync(join(bundle, 'gateway', 'tls', 'ca.pem')),
        servername: 'localhost',
        cert: esdh.certPem,
        key: esdh.keyPem,
      },
      timeoutMs: 5000,
    }).catch(() => undefined);
    return answer?.status === 200 ? answer : undefined;
  }, 120_000);
  assert.equal(network.body.chainId, `tillid-bundle-${id}`);
  assert.deepEqual(
    network.body.nodes.map((n: { url: string; healthy: boolean }) => [n.url, n.healthy]),
    [[`https://${host}:${member.apiPort}`, true]],
  );
  assert.ok(network.body.verifiedHead.height >= 2);
});
