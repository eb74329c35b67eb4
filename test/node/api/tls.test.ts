/**
 * TLS between organisations: a node API serving HTTPS with a certificate from the consortium's CA,
 * reached by the gateway's router and the CLI when they are given that CA — and refused, saying
 * why, when the certificate comes from another CA.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestCa } from '../../../gateway/emulators/test-ca.ts';
import { nodeFetch } from '../../../gateway/node-fetch.ts';
import { NodeRouter } from '../../../gateway/routing.ts';
import { loadConfig, validateConfig } from '../../../node/config.ts';
import { writePlaintextKeyFile } from '../../../node/custody/key-file.ts';
import { devGenesis, generateKeyPair, startTestNode, tempDir } from '../../fixtures/node.ts';
import { tillid } from '../../fixtures/processes.ts';

const routerFor = (url: string, ca?: string) =>
  new NodeRouter(
    {
      topology: 'federated',
      municipalities: [{ cvr: '29189846', nodes: [url] }],
      sharedNodes: [],
      healthCheckIntervalMs: 1000,
    },
    nodeFetch(ca),
  );

test('a node API with api.tls serves HTTPS only, trusted through the consortium CA', async (t) => {
  const ca = await TestCa.create('Tillid consortium CA (test)');
  const other = await TestCa.create('Another organisation CA (test)');
  const { url, genesis } = await startTestNode(t, { tls: await ca.issueServer(['localhost', '127.0.0.1']) });
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);

  // Plain HTTP on the same port gets no API answer.
  const plain = await fetch(`${url.replace('https:', 'http:')}/v1/status`).then(
    (r) => r.status,
    (e: Error) => e.message,
  );
  assert.notEqual(plain, 200);

  const trusted = routerFor(url, ca.certPem);
  await trusted.checkAll();
  assert.deepEqual(
    trusted.health().map((h) => h.healthy),
    [true],
  );
  assert.equal(trusted.status.chainId, genesis.chainId);
  assert.ok((await trusted.get<{ height: number }>('29189846', '/v1/status'))?.height !== undefined);

  // Bad input: the gateway is configured with another organisation's CA.
  const wrong = routerFor(url, other.certPem);
  await wrong.checkAll();
  const [health] = wrong.health();
  assert.equal(health?.healthy, false);
  assert.match(health?.reason ?? '', /not issued by the configured CA \(nodeCaFile\)/);
  assert.equal(wrong.reached, false);

  // No CA configured: the public CAs do not know the consortium's either.
  const none = routerFor(url);
  await none.checkAll();
  assert.match(none.health()[0]?.reason ?? '', /not issued by a trusted CA \(configure its CA: nodeCaFile\)/);
});

test('the CLI reads an HTTPS node API with --ca, and refuses a certificate from another CA', async (t) => {
  const ca = await TestCa.create('Tillid consortium CA (test)');
  const other = await TestCa.create('Another organisation CA (test)');
  const { url, dir } = await startTestNode(t, { tls: await ca.issueServer(['localhost', '127.0.0.1']) });
  const files = tempDir(t);
  writeFileSync(join(files, 'ca.pem'), ca.certPem);
  writeFileSync(join(files, 'other.pem'), other.certPem);
  const verify = (...extra: string[]) =>
    tillid(['chain', 'verify', '--genesis', join(dir, 'genesis.json'), '--api', url, ...extra]);

  const ok = await verify('--ca', join(files, 'ca.pem'));
  assert.equal(ok.code, 0, ok.stderr);
  // A bundle of CAs (the members' and one's own), even glued without a newline between them.
  writeFileSync(join(files, 'bundle.pem'), `${other.certPem.trim()}${ca.certPem}`);
  const bundled = await verify('--ca', join(files, 'bundle.pem'));
  assert.equal(bundled.code, 0, bundled.stderr);
  const wrong = await verify('--ca', join(files, 'other.pem'));
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /TLS refused: the node's certificate is not issued by the configured CA \(--ca <file>\)/,
  );
  const without = await verify();
  assert.equal(without.code, 1);
  assert.match(without.stderr, /not issued by a trusted CA \(configure its CA: --ca <file>\)/);
  const missing = await verify('--ca', join(files, 'nothing.pem'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--ca .*nothing\.pem/);
});

test('bad TLS and announce configuration is refused before anything starts', async (t) => {
  const base = { name: 'x', genesisFile: 'g.json', keyFile: 'k.json', dataDir: 'd' };
  const p2p = { listen: ['/ip4/0.0.0.0/tcp/7201'], peers: [] };
  assert.throws(
    () => validateConfig({ ...base, api: { tls: { cert: 'a.pem' } } }, '/x'),
    /api\.tls must be \{ cert, key \}/,
  );
  assert.throws(
    () =>
      validateConfig({ ...base, p2p: { ...p2p, announce: ['/dns4/a.example/tcp/7201/p2p/12D3KooW'] } }, '/x'),
    /p2p\.announce must be a list of multiaddrs without \/p2p\//,
  );
  const ok = validateConfig(
    { ...base, api: { host: '0.0.0.0', port: 7101, tls: { cert: 'tls/n.pem', key: 'tls/n.key' } } },
    '/etc/tillid',
  );
  assert.deepEqual(ok.api.tls, { cert: '/etc/tillid/tls/n.pem', key: '/etc/tillid/tls/n.key' });

  // Environment overrides for containers: the key in a volume, the announce address from a template.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, p2p }));
  const loaded = loadConfig(join(dir, 'config.json'), {
    TILLID_KEY_FILE: '/var/lib/tillid/key.json',
    TILLID_P2P_ANNOUNCE: '/dns4/node.kommune.example/tcp/7201',
  });
  assert.equal(loaded.keyFile, '/var/lib/tillid/key.json');
  assert.deepEqual(loaded.p2p?.announce, ['/dns4/node.kommune.example/tcp/7201']);

  // A certificate file that is not there stops the node saying which.
  const missing = join(dir, 'no-such.pem');
  const key = generateKeyPair();
  writePlaintextKeyFile(join(dir, 'k.json'), key);
  writeFileSync(join(dir, 'g.json'), JSON.stringify(devGenesis([key])));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...base, api: { port: 0, tls: { cert: missing, key: missing } } }),
  );
  const started = await tillid(['node', 'start', '--config', join(dir, 'config.json')]);
  assert.notEqual(started.code, 0);
  assert.match(started.stdout + started.stderr, /cannot read api\.tls\.cert .*no-such\.pem/);
});
