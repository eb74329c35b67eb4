/**
 * Bundles as separate hosts would run them, here as node processes on one machine: four
 * municipalities' nodes started from their generated bundles with nothing edited (only the key and
 * data locations that the container volume provides come from the environment overrides), their
 * APIs over HTTPS with the bundle's throwaway consortium CA. They finalize the same chain, and the
 * first municipality's gateway, from its bundle's gateway.json, reads and verifies it over HTTPS.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBundles } from '../../deploy/bundles.ts';
import type { Member } from '../../deploy/members.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';
import { startGateway } from '../../gateway/main.ts';
import { nodeFetch } from '../../gateway/node-fetch.ts';
import { provisionSignedVoteLog } from '../../node/consensus/tendermint/file-signed-log.ts';
import { writeEncryptedKeyFile } from '../../node/custody/key-file.ts';
import { createLogger } from '../../node/log.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';
import { httpsJson } from '../fixtures/http.ts';
import { tempDir, waitFor } from '../fixtures/node.ts';
import { startNodeProcess, stopNodeProcess, tillid } from '../fixtures/processes.ts';

/** A port the OS has just handed out (and taken back): the bundles need them before any node starts. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

test('a TLS-on network from bundles finalizes, and the gateway reads it over HTTPS', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'bundles');
  const systems = await TestCa.create('Stand-in for the OCES3 CA (test)');
  const esdh = await systems.issueSystem({
    cvr: '29189846',
    organisation: 'Høje-Taastrup Kommune',
    system: 'ESDH',
  });
  const ocesFile = join(dir, 'oces3.pem');
  writeFileSync(ocesFile, systems.certPem);
  const keys = Array.from({ length: 4 }, () => generateKeyPair());
  const members: Member[] = [];
  for (const [i, key] of keys.entries())
    members.push({
      name: `Kommune ${i + 1}`,
      cvr: String(29189846 + i),
      publicKey: key.publicKey,
      host: '127.0.0.1',
      p2pPort: await freePort(),
      apiPort: await freePort(),
    });
  (members[0] as Member).gateway = {
    clientCaFiles: [ocesFile],
    certificatePrivileges: [{ cvr: '29189846', privileges: [{ role: 'caseworker' }] }],
    agreements: [{ system: esdh.systemId, service: 'network' }],
  };
  await writeBundles(members, out, {
    chainId: 'tillid-bundles',
    image: 'tillid/node:dev',
    blockIntervalMs: 200,
    // The test watches the chain advance without transactions: empty blocks at the block pace.
    emptyBlockIntervalMs: 200,
  });

  const nodes = await Promise.all(
    keys.map((key, i) => {
      const bundle = join(out, `kommune-${i + 1}`);
      // Each key encrypted, its passphrase in a file named by the environment (a secret in containers).
      writeFileSync(join(dir, `passphrase-${i + 1}`), `passphrase of kommune ${i + 1}\n`, { mode: 0o600 });
      writeEncryptedKeyFile(join(dir, `key-${i + 1}.json`), key, `passphrase of kommune ${i + 1}`);
      // A new key's empty vote log, as `keys generate --data-dir` makes it (CEREMONY step 1).
      provisionSignedVoteLog(join(dir, `data-${i + 1}`));
      return startNodeProcess(join(bundle, 'node', 'config.json'), {
        TILLID_KEY_FILE: join(dir, `key-${i + 1}.json`),
        TILLID_PASSPHRASE_FILE: join(dir, `passphrase-${i + 1}`),
        TILLID_DATA_DIR: join(dir, `data-${i + 1}`),
        TILLID_API_HOST: '127.0.0.1',
      });
    }),
  );
  t.after(() => Promise.all(nodes.map((n) => stopNodeProcess(n, 'SIGKILL'))));
  const ca = readFileSync(join(out, 'THROWAWAY-DEV-CA.pem'), 'utf8');
  const call = nodeFetch(ca);
  const urls = members.map((m) => `https://127.0.0.1:${m.apiPort}`);
  assert.deepEqual(
    nodes.map((n) => n.url),
    urls,
  );

  const json = async (url: string) =>
    (await call(url)).json() as Promise<{ finalizedHeight: number; hash: string }>;
  await waitFor(async () => {
    const heights = await Promise.all(urls.map(async (u) => (await json(`${u}/v1/status`)).finalizedHeight));
    return heights.every((h) => h >= 3) || undefined;
  }, 60_000);
  const hashes = await Promise.all(urls.map(async (u) => (await json(`${u}/v1/blocks/3`)).hash));
  assert.equal(new Set(hashes).size, 1, 'every node finalized the same block 3');

  // Plain HTTP gets no API answer from a TLS node.
  const plain = await fetch(`${urls[0]?.replace('https:', 'http:')}/v1/status`).then(
    (r) => r.status,
    () => 'refused',
  );
  assert.notEqual(plain, 200);

  const verified = await tillid([
    'chain',
    'verify',
    '--genesis',
    join(out, 'genesis.json'),
    '--api',
    urls[3] as string,
    '--ca',
    join(out, 'kommune-4', 'node', 'tls', 'ca.pem'),
  ]);
  assert.equal(verified.code, 0, verified.stderr);

  // The first municipality's gateway, as its bundle configures it; only where the container volume
  // would hold its state comes from the environment.
  const { config, secrets } = loadGatewayConfig(join(out, 'kommune-1', 'gateway', 'gateway.json'), {
    TILLID_GATEWAY_HOST: '127.0.0.1',
    TILLID_GATEWAY_PORT: '0',
    TILLID_GATEWAY_KEYSTORE_DIR: join(dir, 'gateway', 'keys'),
    TILLID_GATEWAY_AUDIT_FILE: join(dir, 'gateway', 'audit.jsonl'),
    TILLID_GATEWAY_KEYSTORE_PASSPHRASE: 'throwaway-test-passphrase',
  });
  const gateway = await startGateway(config, secrets, { log: createLogger('silent') });
  t.after(() => gateway.stop());
  const network = await httpsJson({
    url: `${gateway.url}/v1/network`,
    options: {
      ca: readFileSync(join(out, 'kommune-1', 'gateway', 'tls', 'ca.pem')),
      cert: esdh.certPem,
      key: esdh.keyPem,
    },
  });
  assert.equal(network.status, 200, JSON.stringify(network.body));
  assert.equal(network.body.chainId, 'tillid-bundles');
  assert.deepEqual(
    network.body.nodes.map((n: { url: string; healthy: boolean }) => [n.url, n.healthy]),
    urls.map((u) => [u, true]),
  );
  assert.ok(network.body.verifiedHead.height >= 3);
  assert.ok(network.body.verifiedHead.signatures >= 3, 'a commit certificate of more than two thirds');
});
