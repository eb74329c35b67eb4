/**
 * `npm run up`: starts a Tillid compose deployment (the repository's docker-compose.yml, or one
 * deploy/generate.ts wrote) so that a missing optional image never stops the nodes, and reports
 * progress while the init containers work and the nodes become healthy.
 *
 *   npm run up -- [--file docker-compose.yml] [--project-name NAME] [--monitoring] [--timeout 300]
 *
 * 1. The services outside any profile (init, nodes, gateway) start first; an image of theirs that
 *    is missing is an error that names `npm run images`.
 * 2. With --monitoring: Prometheus (profile `monitoring`) when its image is present — built here
 *    from Debian's package when it is not and can be — else a message saying what to install;
 *    Grafana (profile `grafana`) only when its image is present, else a message saying how to add
 *    it and that the dashboard's queries work in Prometheus's own UI meanwhile.
 * 3. Every few seconds a line says what is still starting, until the one-shot services have exited
 *    0 and every service with a health check is healthy (or --timeout seconds pass: exit 1).
 *
 * docker-compose 1.29 pulls every image of the services it is asked to start before it starts any,
 * so `docker-compose --profile monitoring up -d` with an image missing starts nothing; hence this.
 */
import { spawnSync } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildPrometheusImage,
  PROMETHEUS_HELP,
  PROMETHEUS_IMAGE_TAG,
  PROMETHEUS_RELEASE_IMAGE,
} from '../docker/prometheus-image.ts';

export const UP_USAGE =
  'Usage: npm run up -- [--file docker-compose.yml] [--project-name NAME] [--monitoring] [--timeout SECONDS] [--no-wait]';

interface Service {
  readonly name: string;
  readonly image?: string;
  readonly profiles: readonly string[];
}

const log = (line: string) => console.error(`up: ${line}`);

/** docker-compose (1.29) or the `docker compose` plugin, whichever this host has. */
export function composeCommand(): string[] {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0)
    return ['docker', 'compose'];
  throw new Error(
    'neither docker-compose nor `docker compose` is installed; on Debian: apt-get install -y docker-compose',
  );
}

/**
 * The services of a compose file with their images and profiles, read from `config` (anchors and
 * merges resolved), whose output is YAML in a fixed layout: `services:` then two-space names.
 */
export function parseServices(config: string): Service[] {
  const services: { name: string; image?: string; profiles: string[] }[] = [];
  let section = '';
  let current: (typeof services)[number] | undefined;
  let inProfiles = false;
  for (const line of config.split('\n')) {
    const top = /^(\S[^:]*):/.exec(line);
    if (top) {
      section = top[1] as string;
      current = undefined;
      continue;
    }
    if (section !== 'services') continue;
    const name = /^ {2}([\w.-]+):\s*$/.exec(line);
    if (name) {
      current = { name: name[1] as string, profiles: [] };
      services.push(current);
      inProfiles = false;
      continue;
    }
    if (!current) continue;
    const field = /^ {4}([\w-]+):\s*(.*)$/.exec(line);
    if (field) {
      inProfiles = field[1] === 'profiles';
      if (field[1] === 'image') current.image = (field[2] as string).replace(/^['"]|['"]$/g, '');
      if (inProfiles && field[2]) current.profiles.push(...(field[2].match(/[\w.-]+/g) ?? []));
      continue;
    }
    const item = /^ {4,6}- ([\w.-]+)\s*$/.exec(line);
    if (inProfiles && item) current.profiles.push(item[1] as string);
  }
  return services;
}

const imagePresent = (image: string) =>
  spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;

interface ContainerState {
  readonly service: string;
  readonly state: string;
  readonly exitCode: number;
  readonly health: string;
  readonly oneShot: boolean;
}

function containers(project: string): ContainerState[] {
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], {
    encoding: 'utf8',
  }).stdout.trim();
  if (!ids) return [];
  const format =
    '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{.State.ExitCode}}|' +
    '{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.HostConfig.RestartPolicy.Name}}';
  const r = spawnSync('docker', ['inspect', '-f', format, ...ids.split('\n')], { encoding: 'utf8' });
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [service = '', state = '', exitCode = '0', health = '', restart = ''] = line.split('|');
      // One-shot services (init, gateway-init) run to completion: restart "no" or "on-failure".
      const oneShot = restart === 'no' || restart === '' || restart === 'on-failure';
      return { service, state, exitCode: Number(exitCode), health, oneShot };
    });
}

/** Waits until one-shots exited 0 and health-checked services are healthy, logging progress. */
async function waitReady(project: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  let last = '';
  let lastLogged = 0;
  for (;;) {
    const all = containers(project);
    const failed = all.filter(
      (c) => c.oneShot && c.state === 'exited' && c.exitCode !== 0 && c.service !== '',
    );
    const waiting = all.filter(
      (c) =>
        (c.oneShot && c.state !== 'exited') ||
        (!c.oneShot && c.state !== 'running') ||
        (c.health !== '' && c.health !== 'healthy'),
    );
    const seconds = Math.round((Date.now() - started) / 1000);
    if (failed.length > 0 && failed.every((c) => c.state === 'exited'))
      for (const c of failed)
        log(`${c.service} exited ${c.exitCode} (docker-compose -p ${project} logs ${c.service})`);
    if (waiting.length === 0 && all.length > 0) {
      log(`ready after ${seconds} s: ${all.length} containers`);
      return;
    }
    const summary = waiting
      .map((c) => `${c.service} ${c.health && c.state === 'running' ? c.health : c.state}`)
      .sort()
      .join(', ');
    if (summary !== last || Date.now() - lastLogged > 10_000) {
      log(`${seconds} s: waiting for ${summary}`);
      last = summary;
      lastLogged = Date.now();
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready after ${seconds} s (still waiting for ${summary})`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export interface UpOptions {
  readonly file: string;
  readonly project?: string;
  readonly monitoring?: boolean;
  readonly timeoutMs?: number;
  /** Wait for readiness (default true); tests that poll for what they need pass false. */
  readonly wait?: boolean;
}

/** Returns the project name and what was started or left out, for callers and tests. */
export async function up(o: UpOptions): Promise<{ project: string; started: string[]; skipped: string[] }> {
  const file = resolve(o.file);
  const project =
    o.project ??
    basename(dirname(file))
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '');
  const compose = composeCommand();
  const run = (args: string[], profiles: string[] = []) => {
    const argv = [
      ...compose.slice(1),
      '-f',
      file,
      '-p',
      project,
      ...profiles.flatMap((p) => ['--profile', p]),
      ...args,
    ];
    const r = spawnSync(compose[0] as string, argv, {
      encoding: 'utf8',
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`${compose.join(' ')} ${args.join(' ')} failed:\n${r.stderr}`);
    return r;
  };
  const configured = spawnSync(compose[0] as string, [...compose.slice(1), '-f', file, 'config'], {
    encoding: 'utf8',
  });
  if (configured.status !== 0) throw new Error(`${file}: ${configured.stderr}`);
  const services = parseServices(configured.stdout);
  const core = services.filter((s) => s.profiles.length === 0);
  const missing = [...new Set(core.map((s) => s.image).filter((i): i is string => !!i && !imagePresent(i)))];
  if (missing.length > 0)
    throw new Error(`image(s) missing: ${missing.join(', ')}. Build them with: npm run images`);
  log(`starting ${core.map((s) => s.name).join(', ')} (project ${project})`);
  run(['up', '-d']);
  const started = core.map((s) => s.name);
  const skipped: string[] = [];
  if (o.monitoring) {
    const prometheus = services.find((s) => s.name === 'prometheus');
    const grafana = services.find((s) => s.name === 'grafana');
    if (prometheus?.image) {
      if (
        !imagePresent(prometheus.image) &&
        (prometheus.image === PROMETHEUS_IMAGE_TAG || prometheus.image === PROMETHEUS_RELEASE_IMAGE)
      ) {
        try {
          log(`${PROMETHEUS_IMAGE_TAG} is missing: building it`);
          buildPrometheusImage();
        } catch (e) {
          log((e as Error).message);
        }
      }
      if (imagePresent(prometheus.image)) {
        run(['up', '-d', '--no-deps', 'prometheus'], prometheus.profiles.slice());
        started.push('prometheus');
      } else {
        skipped.push('prometheus');
        log(
          `Prometheus NOT started: image ${prometheus.image} is missing (the nodes run without it).\n${PROMETHEUS_HELP}\nthen: npm run up -- --file ${o.file} --monitoring`,
        );
      }
    }
    if (grafana?.image) {
      if (imagePresent(grafana.image) && started.includes('prometheus')) {
        run(['up', '-d', '--no-deps', 'grafana'], grafana.profiles.slice());
        started.push('grafana');
      } else {
        skipped.push('grafana');
        log(
          `Grafana NOT started: image ${grafana.image} is not on this host. The dashboard's queries ` +
            '(deploy/monitoring/grafana/dashboards/tillid.json) work in Prometheus at /graph meanwhile. ' +
            `To add Grafana: docker pull ${grafana.image} (or docker load -i on an air-gapped host), then run this again.`,
        );
      }
    }
  }
  if (o.wait !== false) await waitReady(project, o.timeoutMs ?? 300_000);
  return { project, started, skipped };
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        file: { type: 'string', short: 'f', default: 'docker-compose.yml' },
        'project-name': { type: 'string', short: 'p' },
        monitoring: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '300' },
        'no-wait': { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(UP_USAGE);
      process.exit(0);
    }
    const timeout = Number(values.timeout);
    if (!(timeout > 0)) throw new Error('--timeout must be a number of seconds');
    const result = await up({
      file: values.file,
      ...(values['project-name'] ? { project: values['project-name'] } : {}),
      monitoring: values.monitoring,
      timeoutMs: timeout * 1000,
      wait: !values['no-wait'],
    });
    console.log(JSON.stringify(result));
  } catch (e) {
    console.error(`up: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
