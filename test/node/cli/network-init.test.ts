/**
 * `tillid network init` for separate hosts: one address per member (`--member Name=host[:port]`,
 * or `host` in the municipalities file) gives the genesis and every peer list the right addresses
 * the first time, the same ports on every host, an announce address and an API other hosts reach.
 * On one host (the development network) the ports still differ per node and stay on loopback.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { peerIdForPublicKey } from '../../../node/p2p/identity.ts';
import { tempDir } from '../../fixtures/node.ts';
import { tillid } from '../../fixtures/processes.ts';

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const FOUR = [
  'Høje-Taastrup Kommune:29189846',
  'Albertslund Kommune:11111111',
  'Ballerup Kommune:22222222',
  'Glostrup Kommune:33333333',
];
const DIRS = ['hoeje-taastrup-kommune', 'albertslund-kommune', 'ballerup-kommune', 'glostrup-kommune'];

test('--member per municipality: genesis addresses, peer lists, same ports, announce, reachable API', async (t) => {
  const out = join(tempDir(t), 'net');
  const r = await tillid([
    'network',
    'init',
    '--out',
    out,
    ...FOUR.flatMap((m) => ['--municipality', m]),
    '--member',
    'Høje-Taastrup Kommune=tillid.htk.example',
    '--member',
    'Albertslund Kommune=192.0.2.10:7301',
    '--member',
    '22222222=[2001:db8::7]',
    '--member',
    'Glostrup Kommune=node.glostrup.example',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const genesis = json(join(out, 'genesis.json'));
  const addresses = [
    '/dns4/tillid.htk.example/tcp/7201',
    '/ip4/192.0.2.10/tcp/7301',
    '/ip6/2001:db8::7/tcp/7201',
    '/dns4/node.glostrup.example/tcp/7201',
  ];
  assert.deepEqual(
    genesis.authorities.map((a: { address: string }) => a.address),
    addresses,
  );
  const peerIds = await Promise.all(
    genesis.authorities.map((a: { publicKey: string }) => peerIdForPublicKey(a.publicKey)),
  );
  DIRS.forEach((d, i) => {
    const config = json(join(out, d, 'config.json'));
    assert.deepEqual(
      config.api,
      { host: '0.0.0.0', port: 7101 },
      `${d}: the same API port on every host, reachable`,
    );
    const port = i === 1 ? 7301 : 7201;
    assert.deepEqual(config.p2p.listen, [i === 2 ? `/ip6/::/tcp/${port}` : `/ip4/0.0.0.0/tcp/${port}`]);
    assert.deepEqual(config.p2p.announce, [addresses[i]], `${d}: announces only its public address`);
    assert.deepEqual(
      config.p2p.peers,
      addresses.map((a, j) => `${a}/p2p/${peerIds[j]}`).filter((_, j) => j !== i),
    );
  });
});

test('a municipalities file with hosts, and --api-host', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'members.json');
  writeFileSync(
    file,
    JSON.stringify(
      FOUR.map((m, i) => ({ name: m.split(':')[0], cvr: m.split(':')[1], host: `10.0.0.${i + 1}` })),
    ),
  );
  const out = join(dir, 'net');
  const r = await tillid([
    'network',
    'init',
    '--out',
    out,
    '--municipalities',
    file,
    '--api-host',
    '10.0.0.1',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    json(join(out, 'genesis.json')).authorities.map((a: { address: string }) => a.address),
    [1, 2, 3, 4].map((i) => `/ip4/10.0.0.${i}/tcp/7201`),
  );
  assert.equal(json(join(out, DIRS[0] as string, 'config.json')).api.host, '10.0.0.1');
});

test('one host (the development network): ports per node, loopback only, announced as such', async (t) => {
  const out = join(tempDir(t), 'net');
  const r = await tillid([
    'network',
    'init',
    '--out',
    out,
    '--base-port',
    '9101',
    ...FOUR.flatMap((m) => ['--municipality', m]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  DIRS.forEach((d, i) => {
    const config = json(join(out, d, 'config.json'));
    assert.deepEqual(config.api, { host: '127.0.0.1', port: 9101 + i });
    assert.deepEqual(config.p2p.listen, [`/ip4/127.0.0.1/tcp/${9201 + i}`]);
    assert.deepEqual(config.p2p.announce, [`/ip4/127.0.0.1/tcp/${9201 + i}`]);
  });
});

test('bad member addresses are refused with a usage error and write no genesis', async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ['--member', 'Høje-Taastrup Kommune=a.example'],
      /missing: Albertslund Kommune, Ballerup Kommune, Glostrup Kommune/,
    ],
    [['--member', 'Nowhere Kommune=a.example'], /no municipality named Nowhere Kommune/],
    [['--member', 'Høje-Taastrup Kommune=a.example:99999'], /port must be 1-65535/],
    [['--member', 'Høje-Taastrup Kommune'], /expected Name=host\[:port\]/],
    [['--member', 'Høje-Taastrup Kommune=bad_host!'], /neither an IP address nor a DNS name/],
    [['--member', 'Høje-Taastrup Kommune=0.0.0.0'], /means any interface/],
    [
      FOUR.flatMap((m, i) => ['--member', `${m.split(':')[0]}=${i < 2 ? 'same.example' : `n${i}.example`}`]),
      /Albertslund Kommune and Høje-Taastrup Kommune have the same address/,
    ],
  ];
  for (const [args, message] of cases) {
    const out = join(tempDir(t), 'net');
    const r = await tillid([
      'network',
      'init',
      '--out',
      out,
      ...FOUR.flatMap((m) => ['--municipality', m]),
      ...args,
    ]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.throws(() => readFileSync(join(out, 'genesis.json')));
  }
});

test('a bad CVR is refused before anything is written: no folder, no key, no genesis', async (t) => {
  const out = join(tempDir(t), 'net');
  const r = await tillid([
    'network',
    'init',
    '--out',
    out,
    ...[...FOUR.slice(0, 3), 'Glostrup Kommune:3333'].flatMap((m) => ['--municipality', m]),
  ]);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /Glostrup Kommune: CVR must be 8 digits/);
  // The folder of a refused network does not exist at all: nothing to clean up before a retry.
  assert.equal(existsSync(out), false, `${out} was created`);
});
