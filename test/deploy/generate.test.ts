/**
 * deploy/generate.ts as an operator runs it: usage instead of a stack trace, and in every compose
 * file it writes (each topology, and each municipality's bundle) log rotation for every service and
 * the monitoring and grafana profiles with the files they mount. `npm run up` reads the services
 * and their profiles from `docker-compose config`.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type ComposeOptions, TOPOLOGIES, writeBundles, writeDeployment } from '../../deploy/generate.ts';
import { composeCommand, parseServices } from '../../deploy/up.ts';
import {
  GATEWAY_RELEASE_IMAGE,
  NODE_RELEASE_IMAGE,
  PROJECT_VERSION,
  PROMETHEUS_RELEASE_IMAGE,
} from '../../docker/tags.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';
import { tempDir } from '../helpers.ts';

const GENERATE = join(import.meta.dirname, '../../deploy/generate.ts');
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [GENERATE, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

test('--help prints usage; a wrong option is one line, not a stack trace', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: npm run generate -- /);
  assert.match(help.stdout, /--kubernetes network/);
  const bad = await run(['--topologee', 'x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^generate: Unknown option '--topologee'/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const port = await run(['--out', '/tmp/x', '--base-port', 'seventy']);
  assert.match(port.stderr, /--base-port must be a port number/);
});

/** Each service block of a generated compose file: its name and its lines. */
function services(text: string): Map<string, string> {
  const body = text.slice(text.indexOf('\nservices:\n') + 11, text.search(/\n(networks|volumes):\n/));
  const out = new Map<string, string>();
  for (const block of body.split(/\n(?= {2}[\w-]+:\n)/)) {
    const name = /^ {2}([\w-]+):/.exec(block)?.[1];
    if (name) out.set(name, block);
  }
  return out;
}

for (const topology of TOPOLOGIES) {
  test(`${topology}: log rotation everywhere, the monitoring profiles and their files`, (t) => {
    const dir = tempDir(t);
    const o: ComposeOptions = {
      topology,
      municipalities: topology === 'hybrid' ? 5 : 4,
      authorities: topology === 'central' ? 3 : 4,
      image: 'tillid/node:dev',
      basePort: 7101,
      blockIntervalMs: 500,
      chainId: `tillid-${topology}`,
      prometheusPort: 0,
    };
    writeDeployment(o, dir);
    const text = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
    assert.match(
      text,
      /^x-logging: &logging\n {2}driver: json-file\n {2}options: \{ max-size: 20m, max-file: "3" \}/m,
    );
    const all = services(text);
    for (const [name, block] of all)
      assert.ok(/\n {4}(<<: \*node|logging: \*logging)/.test(block), `${name} rotates its log`);
    assert.match(text, /^ {2}logging: \*logging$/m, 'x-node (every node) rotates its log');
    assert.match(all.get('prometheus') ?? '', /profiles: \[monitoring\]/);
    assert.match(all.get('prometheus') ?? '', /"127\.0\.0\.1::9090"/, 'port 0: Docker chooses');
    assert.match(all.get('grafana') ?? '', /profiles: \[grafana\]/);
    const scrape = readFileSync(join(dir, 'monitoring/prometheus.yml'), 'utf8');
    const nodes = [...all.keys()].filter((s) => /^(node|observer|central)-\d+$/.test(s));
    assert.ok(nodes.length > 0);
    for (const n of nodes) assert.ok(scrape.includes(`"${n}:7101"`), `${n} is scraped`);
    assert.equal(scrape.includes('tillid-gateway'), all.has('gateway'));
    for (const f of [
      'alerts.yml',
      'grafana/dashboards/tillid.json',
      'grafana/provisioning/datasources/prometheus.yml',
    ])
      assert.ok(existsSync(join(dir, 'monitoring', f)), f);
  });
}

test("each municipality's bundle has its node, log rotation and monitoring", async (t) => {
  const dir = tempDir(t);
  const members = [
    'Albertslund Kommune',
    'Ballerup Kommune',
    'Glostrup Kommune',
    'Høje-Taastrup Kommune',
  ].map((name, i) => ({
    name,
    cvr: String(11111111 * (i + 1)),
    publicKey: generateKeyPair().publicKey,
    host: `10.0.0.${i + 1}`,
  }));
  await writeBundles(members, dir, { chainId: 'tillid', image: 'tillid/node:dev', blockIntervalMs: 500 });
  for (const bundle of ['albertslund-kommune', 'hoeje-taastrup-kommune']) {
    const text = readFileSync(join(dir, bundle, 'docker-compose.yml'), 'utf8');
    const all = services(text);
    assert.deepEqual([...all.keys()], ['node', 'prometheus', 'grafana']);
    for (const [name, block] of all) assert.match(block, /logging: \*logging/, `${bundle}: ${name}`);
    assert.match(
      readFileSync(join(dir, bundle, 'monitoring/prometheus.yml'), 'utf8'),
      /targets: \["node:7101"\]/,
    );
  }
});

test('npm run up reads services and profiles from docker-compose config', (t) => {
  const dir = tempDir(t);
  writeDeployment(
    {
      topology: 'federated',
      municipalities: 4,
      authorities: 4,
      image: 'tillid/node:dev',
      basePort: 7101,
      blockIntervalMs: 500,
      chainId: 'x',
    },
    dir,
  );
  const compose = composeCommand();
  const r = spawnSync(
    compose[0] as string,
    [...compose.slice(1), '-f', join(dir, 'docker-compose.yml'), 'config'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  writeFileSync(join(dir, 'config.yml'), r.stdout);
  const parsed = parseServices(r.stdout);
  const byName = new Map(parsed.map((s) => [s.name, s]));
  for (const n of ['init', 'node-1', 'node-4', 'gateway-init', 'token-service', 'gateway'])
    assert.deepEqual(byName.get(n)?.profiles, [], `${n} starts without a profile`);
  assert.equal(byName.get('node-2')?.image, 'tillid/node:dev', 'anchors are resolved');
  assert.deepEqual(byName.get('prometheus')?.profiles, ['monitoring']);
  assert.equal(byName.get('prometheus')?.image, PROMETHEUS_RELEASE_IMAGE);
  assert.deepEqual(byName.get('grafana')?.profiles, ['grafana']);
});

test('deployments and bundles name the release-tagged images by default, never :dev', async (t) => {
  assert.equal(NODE_RELEASE_IMAGE, `tillid/node:${JSON.parse(readFileSync('package.json', 'utf8')).version}`);
  const dir = tempDir(t);
  const oneHost = await run(['--topology', 'federated', '--out', join(dir, 'one-host')]);
  assert.equal(oneHost.code, 0, oneHost.stderr);
  const compose = readFileSync(join(dir, 'one-host', 'docker-compose.yml'), 'utf8');
  for (const image of [NODE_RELEASE_IMAGE, GATEWAY_RELEASE_IMAGE, PROMETHEUS_RELEASE_IMAGE])
    assert.ok(compose.includes(`image: ${image}`), `${image} in the one-host compose file`);

  const members = ['Albertslund Kommune', 'Ballerup Kommune', 'Glostrup Kommune', 'Ishøj Kommune'].map(
    (name, i) => ({
      name,
      cvr: String(11111111 * (i + 1)),
      publicKey: generateKeyPair().publicKey,
      host: `10.0.0.${i + 1}`,
    }),
  );
  writeFileSync(join(dir, 'members.json'), JSON.stringify(members));
  const bundles = await run(['--bundles', '--members', join(dir, 'members.json'), '--out', join(dir, 'b')]);
  assert.equal(bundles.code, 0, bundles.stderr);
  const bundle = readFileSync(join(dir, 'b', 'albertslund-kommune', 'docker-compose.yml'), 'utf8');
  assert.ok(bundle.includes(`image: ${NODE_RELEASE_IMAGE}`), bundle);
  assert.ok(bundle.includes(`image: ${PROMETHEUS_RELEASE_IMAGE}`), bundle);
  for (const text of [compose, bundle])
    assert.doesNotMatch(text, /image: tillid\/[\w-]+:dev/, `no development tag (release ${PROJECT_VERSION})`);
});
