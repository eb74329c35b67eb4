/**
 * Per-municipality bundles for separate hosts (deploy/bundles.ts): the genesis and every peer list
 * carry each member's own address, every node has the same ports on its own host and announces
 * only its public address, node APIs are HTTPS with certificates from the consortium's throwaway
 * CA, an optional gateway is configured for the municipality's own infrastructure, and each
 * bundle's compose file is valid for `docker-compose config` with names independent of its folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBundles } from '../../deploy/bundles.ts';
import type { Member } from '../../deploy/members.ts';
import { composeCommand } from '../../deploy/up.ts';
import { validateGatewayConfig } from '../../gateway/config.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';
import { peerIdForPublicKey } from '../../node/p2p/identity.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';
import { tempDir } from '../fixtures/node.ts';

const members = (): Member[] =>
  [
    ['Høje-Taastrup Kommune', '29189846', 'tillid.htk.example'],
    ['Albertslund Kommune', '11111111', '192.0.2.10'],
    ['Ballerup Kommune', '22222222', 'node.ballerup.example'],
    ['Glostrup Kommune', '33333333', 'node.glostrup.example'],
  ].map(([name, cvr, host]) => ({
    name: name as string,
    cvr: cvr as string,
    host: host as string,
    publicKey: generateKeyPair().publicKey,
  }));

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

test('bundles: one address per member in the genesis and the peer lists, same ports, announce, HTTPS', async (t) => {
  const dir = tempDir(t);
  const list = members();
  await writeBundles(list, dir, { chainId: 'tillid', image: 'tillid/node:dev', blockIntervalMs: 500 });
  const genesis = json(join(dir, 'genesis.json'));
  assert.deepEqual(
    genesis.authorities.map((a: { address: string }) => a.address),
    [
      '/dns4/tillid.htk.example/tcp/7201',
      '/ip4/192.0.2.10/tcp/7201',
      '/dns4/node.ballerup.example/tcp/7201',
      '/dns4/node.glostrup.example/tcp/7201',
    ],
  );
  const ca = new X509Certificate(readFileSync(join(dir, 'THROWAWAY-DEV-CA.pem')));
  const peerIds = await Promise.all(list.map((m) => peerIdForPublicKey(m.publicKey)));
  for (const [i, m] of list.entries()) {
    const bundle = join(
      dir,
      ['hoeje-taastrup-kommune', 'albertslund-kommune', 'ballerup-kommune', 'glostrup-kommune'][i] as string,
    );
    const config = json(join(bundle, 'node', 'config.json'));
    assert.deepEqual(json(join(bundle, 'node', 'genesis.json')), genesis, 'the same genesis in every bundle');
    assert.deepEqual(config.api, {
      host: '0.0.0.0',
      port: 7101,
      tls: { cert: 'tls/node.pem', key: 'tls/node.key' },
    });
    assert.deepEqual(config.p2p.listen, ['/ip4/0.0.0.0/tcp/7201']);
    assert.deepEqual(
      config.p2p.announce,
      [genesis.authorities[i].address],
      'announces only its own public address',
    );
    assert.deepEqual(
      config.p2p.peers,
      genesis.authorities
        .map((a: { address: string }, j: number) => `${a.address}/p2p/${peerIds[j]}`)
        .filter((_: string, j: number) => j !== i),
    );
    // The node certificate chains to the consortium CA and names the host the others dial.
    const cert = new X509Certificate(readFileSync(join(bundle, 'node', 'tls', 'node.pem')));
    assert.ok(cert.verify(ca.publicKey), `${m.name}: issued by the bundle CA`);
    assert.ok(
      /^\d/.test(m.host) ? cert.checkIP(m.host) : cert.checkHost(m.host),
      `${m.name}: names ${m.host}`,
    );
    assert.equal(
      statSync(join(bundle, 'node', 'tls', 'node.key')).mode & 0o077,
      0,
      'key not readable by others',
    );
    assert.match(readFileSync(join(bundle, 'node', 'tls', 'THROWAWAY-README.txt'), 'utf8'), /THROWAWAY/);

    if (i > 1) continue; // compose is checked for a DNS-named and an IP-addressed member
    // The compose file validates and names nothing after the folder it was unpacked in.
    const compose = composeCommand();
    const r = spawnSync(compose[0] as string, [...compose.slice(1), 'config'], {
      cwd: bundle,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const slug = bundle.split('/').pop();
    assert.match(
      readFileSync(join(bundle, '.env'), 'utf8'),
      new RegExp(`^COMPOSE_PROJECT_NAME=tillid-${slug}$`, 'm'),
    );
    assert.match(r.stdout, new RegExp(`container_name: tillid-${slug}-node`));
    assert.match(r.stdout, new RegExp(`name: tillid-${slug}\\n`));
    assert.match(r.stdout, /published: 7101|- 7101:7101|"7101:7101"/, 'API published for other hosts');
    assert.doesNotMatch(r.stdout, /127\.0\.0\.1:7101/);
    const text = readFileSync(join(bundle, 'docker-compose.yml'), 'utf8');
    assert.doesNotMatch(text, /^name:/m, 'docker-compose 1.x refuses a top-level name');
    const readme = readFileSync(join(bundle, 'README.md'), 'utf8');
    for (const needle of [
      genesis.authorities[i].publicKey,
      'genesis hash',
      'docker compose up -d node',
      '--cacert node/tls/ca.pem',
      'own PKI',
    ])
      assert.ok(readme.includes(needle), `${m.name}: README mentions ${needle}`);
  }
});

test("a member's gateway is configured for its own token service, certificates and agreements", async (t) => {
  const dir = tempDir(t);
  const oces = await TestCa.create('Stand-in for the OCES3 CA (test)');
  const ocesFile = join(tempDir(t), 'oces3-ca.pem');
  writeFileSync(ocesFile, oces.certPem);
  const list = members();
  const [htk] = list as [Member];
  htk.gateway = {
    host: 'gateway.htk.example',
    token: {
      issuer: 'https://sts.kombit.example',
      audience: 'urn:tillid:gateway:htk',
      jwksUrl: 'https://sts.kombit.example/.well-known/jwks.json',
    },
    clientCaFiles: [ocesFile],
    agreements: [{ system: 'CVR:29189846-UID:esdh', service: 'contracts' }],
  };
  await writeBundles(list, dir, { chainId: 'tillid', image: 'tillid/node:dev', blockIntervalMs: 500 });
  const gatewayDir = join(dir, 'hoeje-taastrup-kommune', 'gateway');
  const config = validateGatewayConfig(json(join(gatewayDir, 'gateway.json')), gatewayDir);
  assert.equal(config.token?.issuer, 'https://sts.kombit.example');
  assert.equal(config.token?.jwksUrl, 'https://sts.kombit.example/.well-known/jwks.json');
  assert.equal(config.token?.audience, 'urn:tillid:gateway:htk');
  assert.deepEqual(config.agreements, [
    { system: 'CVR:29189846-UID:esdh', service: 'contracts', cvr: '29189846' },
  ]);
  assert.equal(
    readFileSync(config.tls?.clientCaFiles[0] as string, 'utf8'),
    oces.certPem,
    'the CA is copied in',
  );
  assert.ok(config.nodeCaFile && existsSync(config.nodeCaFile));
  assert.deepEqual(config.municipalities[0]?.nodes, [
    'https://tillid.htk.example:7101',
    'https://192.0.2.10:7101',
    'https://node.ballerup.example:7101',
    'https://node.glostrup.example:7101',
  ]);
  const gatewayCert = new X509Certificate(readFileSync(join(gatewayDir, 'tls', 'gateway.pem')));
  assert.ok(gatewayCert.checkHost('gateway.htk.example'));

  const compose = composeCommand();
  const bundle = join(dir, 'hoeje-taastrup-kommune');
  const r = spawnSync(compose[0] as string, [...compose.slice(1), 'config'], {
    cwd: bundle,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /container_name: tillid-hoeje-taastrup-kommune-gateway/);
  assert.match(r.stdout, /keystore-passphrase/);
  // Inside the bundle's network the node answers to its public name, which its certificate names.
  assert.match(r.stdout, /aliases:\n\s+- tillid\.htk\.example/);
  assert.match(readFileSync(join(bundle, 'README.md'), 'utf8'), /party register .*--cvr 29189846/);
});

test('bad bundle input is refused naming the member, and writes nothing', async (t) => {
  const bad = async (change: (list: Member[]) => void, options: { tls?: boolean } = {}) => {
    const dir = join(tempDir(t), 'out');
    const list = members();
    change(list);
    await assert.rejects(
      writeBundles(list, dir, {
        chainId: 'tillid',
        image: 'tillid/node:dev',
        blockIntervalMs: 500,
        ...options,
      }),
    );
    assert.equal(existsSync(join(dir, 'genesis.json')), false);
  };
  await bad((l) => ((l[1] as Member).host = 'not a host'));
  await bad((l) => ((l[1] as Member).host = '127.0.0.1x/'));
  await bad((l) => ((l[2] as Member).host = (l[3] as Member).host));
  await bad((l) => ((l[0] as Member).gateway = { agreements: [] })); // no way to authenticate callers
  await bad((l) => ((l[0] as Member).gateway = { clientCaFiles: ['/nonexistent/oces3.pem'] }));
  await bad((l) => ((l[0] as Member).gateway = { clientCaFiles: [] }), { tls: false });
});
