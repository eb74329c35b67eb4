/**
 * Day-2 operations in containers, as a municipal operator runs them: a generated four-authority
 * deployment (with its gateway) started by `npm run up -- --monitoring`, Prometheus from the local
 * tillid/prometheus:dev image (built offline from Debian's package here) scraping every node and the
 * gateway, the dashboard's queries answered by Prometheus itself (no Grafana image on this host).
 * One node is killed: TillidNodeDown fires for it while the other three keep finalizing. Its store
 * is then wiped and restored from a backup taken of a running node; it rejoins, catches up, and
 * `tillid chain verify` passes against it.
 *
 * Docker is shared: the compose project has a random name, every host port is chosen by Docker,
 * and `down -v` removes exactly this project's containers, network and volumes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeDeployment } from '../../deploy/generate.ts';
import { composeCommand, up } from '../../deploy/up.ts';
import { ensureImages, GATEWAY_IMAGE_TAG, NODE_IMAGE_TAG } from '../../docker/build-images.ts';
import { ensurePrometheusImage } from '../../docker/prometheus-image.ts';
import { tempDir } from '../helpers.ts';
import { tillid } from '../process.ts';
import { docker } from './cluster.ts';

// biome-ignore lint/suspicious/noExplicitAny: Prometheus API bodies are checked by the assertions
type Json = any;

/**
 * Polls every 2 s until `probe` returns a value. A container that is still starting (or was just
 * restarted) refuses connections: that counts as "not yet", not as a failure.
 */
async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

test('monitoring sees a killed node; it is restored from backup and rejoins', {
  timeout: 900_000,
}, async (t) => {
  ensureImages(['node', 'gateway']);
  ensurePrometheusImage();
  const dir = tempDir(t, 'tillid-ops-');
  chmodSync(dir, 0o755);
  const project = `tillidops${randomBytes(4).toString('hex')}`;
  const file = join(dir, 'docker-compose.yml');
  writeDeployment(
    {
      topology: 'federated',
      municipalities: 4,
      authorities: 4,
      image: NODE_IMAGE_TAG,
      gatewayImage: GATEWAY_IMAGE_TAG,
      basePort: 0,
      gatewayPort: 0,
      tokenServicePort: 0,
      prometheusPort: 0,
      grafanaPort: 0,
      blockIntervalMs: 500,
      // The test watches heights advance without transactions: empty blocks at the block pace.
      emptyBlockIntervalMs: 500,
      chainId: project,
    },
    dir,
  );
  composeCommand(); // fails with install instructions when there is no compose here
  // By the project's labels, not through the compose file: the temporary directory may be gone by then.
  t.after(async () => {
    const label = `label=com.docker.compose.project=${project}`;
    const ids = async (...args: string[]) =>
      (await docker(...args, '-q', '--filter', label)).split('\n').filter(Boolean);
    const containers = await ids('ps', '-a');
    if (containers.length > 0) await docker('rm', '-f', ...containers);
    const volumes = await ids('volume', 'ls');
    if (volumes.length > 0) await docker('volume', 'rm', ...volumes);
    const networks = await ids('network', 'ls');
    if (networks.length > 0) await docker('network', 'rm', ...networks);
  });

  const result = await up({ file, project, monitoring: true, wait: false });
  assert.ok(result.started.includes('prometheus'), JSON.stringify(result));
  assert.ok(result.started.includes('node-4'));

  const container = async (service: string) =>
    docker(
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    );
  const ip = async (service: string) =>
    docker(
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      await container(service),
    );
  const prometheus = `http://${await ip('prometheus')}:9090`;
  const query = async (expr: string): Promise<Json> => {
    const r = (await (
      await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)
    ).json()) as Json;
    assert.equal(r.status, 'success', `${expr}: ${JSON.stringify(r)}`);
    return r.data.result;
  };
  const byInstance = (rows: Json[]) =>
    Object.fromEntries(rows.map((r: Json) => [r.metric.instance, Number(r.value[1])])) as Record<
      string,
      number
    >;

  // Every node and the gateway scraped, the network finalizing.
  await poll(
    async () => {
      const upNow = byInstance(await query('up'));
      const ok = ['node-1:7101', 'node-2:7101', 'node-3:7101', 'node-4:7101', 'gateway:8080'].every(
        (i) => upNow[i] === 1,
      );
      return ok ? true : undefined;
    },
    420_000,
    'every node and the gateway to be scraped',
  );
  const rules = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as Json;
  const loaded = rules.data.groups.flatMap((g: Json) => g.rules.map((r: Json) => r.name));
  assert.ok(loaded.includes('TillidNodeDown') && loaded.includes('TillidGatewayAuthFailures'), loaded.join());

  // Without Grafana, each of the dashboard's queries runs in Prometheus.
  const dashboard = JSON.parse(readFileSync(join(dir, 'monitoring/grafana/dashboards/tillid.json'), 'utf8'));
  const exprs: string[] = dashboard.panels.flatMap((p: Json) => (p.targets ?? []).map((x: Json) => x.expr));
  assert.ok(exprs.some((e) => e.includes('tillid_gateway_')));
  for (const expr of exprs) await query(expr);

  // Kill node-4: the alert's expression becomes true and the alert fires; three of four finalize on.
  const node4 = await container('node-4');
  const heightBefore = Math.max(...Object.values(byInstance(await query('tillid_finalized_height'))));
  await docker('kill', node4);
  const firing = await poll(
    async () => {
      const alerts = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as Json;
      return alerts.data.alerts.find(
        (a: Json) => a.labels.alertname === 'TillidNodeDown' && a.state === 'firing',
      ) as Json;
    },
    240_000,
    'TillidNodeDown to fire',
  );
  assert.equal(firing.labels.instance, 'node-4:7101');
  assert.deepEqual(
    (await query('up{job="tillid-node"} == 0')).map((r: Json) => r.metric.instance),
    ['node-4:7101'],
  );
  await poll(
    async () =>
      (byInstance(await query('tillid_finalized_height'))['node-1:7101'] ?? 0) > heightBefore + 5
        ? true
        : undefined,
    120_000,
    'three of four to finalize on',
  );

  // A backup of running node-1, then node-4's store wiped and restored from it.
  const node1 = `http://${await ip('node-1')}:7101`;
  await docker('cp', `${await container('node-1')}:/var/lib/tillid/genesis.json`, join(dir, 'genesis.json'));
  const backup = join(dir, 'node-1.backup');
  const b = await tillid([
    'node',
    'backup',
    '--genesis',
    join(dir, 'genesis.json'),
    '--api',
    node1,
    '--out',
    backup,
  ]);
  assert.equal(b.code, 0, b.stderr);
  chmodSync(backup, 0o644);
  const volume = `${project}_node-4`;
  await docker(
    'run',
    '--rm',
    '--entrypoint',
    'node',
    '-v',
    `${volume}:/var/lib/tillid`,
    NODE_IMAGE_TAG,
    '-e',
    "require('fs').rmSync('/var/lib/tillid/data', { recursive: true, force: true })",
  );
  const restored = await docker(
    'run',
    '--rm',
    '-v',
    `${volume}:/var/lib/tillid`,
    '-v',
    `${dir}:/backup:ro`,
    NODE_IMAGE_TAG,
    'node',
    'restore',
    '--genesis',
    '/var/lib/tillid/genesis.json',
    '--from',
    '/backup/node-1.backup',
    '--data-dir',
    '/var/lib/tillid/data',
  );
  assert.match(restored, /OK: restored and verified \d+ blocks/);

  // It rejoins: scraped again, the alert resolves, it catches up with the others.
  await docker('start', node4);
  await poll(
    async () => {
      const heights = byInstance(await query('tillid_finalized_height'));
      const upNow = byInstance(await query('up{job="tillid-node"}'));
      const h4 = heights['node-4:7101'] ?? 0;
      return upNow['node-4:7101'] === 1 && h4 > 0 && h4 >= (heights['node-1:7101'] ?? 0) - 2
        ? true
        : undefined;
    },
    240_000,
    'the restored node-4 to catch up',
  );
  await poll(
    async () => {
      const alerts = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as Json;
      return alerts.data.alerts.some((a: Json) => a.labels.alertname === 'TillidNodeDown') ? undefined : true;
    },
    120_000,
    'TillidNodeDown to resolve',
  );
  const verify = await tillid([
    'chain',
    'verify',
    '--genesis',
    join(dir, 'genesis.json'),
    '--api',
    `http://${await ip('node-4')}:7101`,
  ]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK: \d+ blocks verified/);
});
