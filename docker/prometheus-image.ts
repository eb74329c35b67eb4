/**
 * tillid/prometheus:dev (and the release tag tillid/prometheus:<version>, tags.ts) — Prometheus
 * with Tillid's alert rules, for the compose `monitoring` profile. A local tag, so
 * `docker-compose --profile monitoring up` never has to pull it:
 *
 * - online: `FROM prom/prometheus:<version>` plus the rules, when that image is present or pullable;
 * - offline (air-gapped hosts, this project's CI): made with `docker import` from Debian's
 *   `prometheus` package on this host, the same way build-images.ts makes the Node runtime — the
 *   binaries (prometheus, promtool), the shared libraries `ldd` lists for them, and the web assets
 *   Debian's build serves from /usr/share/prometheus/web (its symlinks into /usr/share/javascript
 *   resolved).
 *
 * Both carry /etc/prometheus/prometheus.yml (deploy/monitoring/prometheus.yml: the repository's
 * compose network; other deployments mount their own) and /etc/prometheus/rules/tillid.yml
 * (deploy/monitoring/alerts.yml), run as nobody (65534) with the TSDB in /prometheus.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copySharedLibraries, tarRootfs, writeBaseFiles } from './rootfs.ts';
import { devTag, PROMETHEUS_RELEASE_IMAGE } from './tags.ts';

export const PROMETHEUS_IMAGE_TAG = devTag('prometheus');
/** The same image under the release tag, which generated deployments and bundles name. */
export { PROMETHEUS_RELEASE_IMAGE };
export const UPSTREAM_PROMETHEUS = 'prom/prometheus:v3.5.0';
const ROOT = join(import.meta.dirname, '..');
const RULES = join(ROOT, 'deploy/monitoring/alerts.yml');
const CONFIG = join(ROOT, 'deploy/monitoring/prometheus.yml');
const DEBIAN_BINARY = '/usr/bin/prometheus';
const DEBIAN_WEB = '/usr/share/prometheus/web';
const LABEL = 'org.tillid.source-hash';

export const PROMETHEUS_HELP = `No Prometheus image can be made: ${UPSTREAM_PROMETHEUS} cannot be pulled and Debian's
prometheus package is not installed on this host. Either load the upstream image
(docker load -i prometheus.tar on an air-gapped host) or, as root on Debian:
  apt-get install -y --no-install-recommends prometheus
then: npm run images -- --only prometheus`;

const log = (line: string) => console.error(`images: ${line}`);

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

const succeeds = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 180_000 }).status === 0;

/** What the image is made of: rules, default config, this builder and the Prometheus version. */
export function prometheusSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [RULES, CONFIG, import.meta.filename, join(import.meta.dirname, 'rootfs.ts')])
    hash.update(readFileSync(file)).update('\0');
  if (existsSync(DEBIAN_BINARY)) hash.update(run(DEBIAN_BINARY, ['--version']));
  return hash.digest('hex');
}

export function prometheusImageCurrent(): boolean {
  const r = spawnSync(
    'docker',
    ['image', 'inspect', '-f', `{{index .Config.Labels "${LABEL}"}}`, PROMETHEUS_IMAGE_TAG],
    { encoding: 'utf8' },
  );
  return (
    r.status === 0 &&
    r.stdout.trim() === prometheusSourceHash() &&
    succeeds('docker', ['image', 'inspect', PROMETHEUS_RELEASE_IMAGE])
  );
}

function buildOffline(hash: string): void {
  if (!existsSync(DEBIAN_BINARY) || !existsSync(DEBIAN_WEB)) throw new Error(PROMETHEUS_HELP);
  const stage = mkdtempSync(join(tmpdir(), 'tillid-prometheus-'));
  try {
    const root = join(stage, 'rootfs');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    const binaries: string[] = [];
    for (const name of ['prometheus', 'promtool']) {
      const file = `/usr/bin/${name}`;
      if (!existsSync(file)) continue;
      copyFileSync(realpathSync(file), join(root, 'usr/bin', name));
      chmodSync(join(root, 'usr/bin', name), 0o755);
      binaries.push(file);
    }
    const libraries = copySharedLibraries(root, binaries);
    // Debian's prometheus serves its classic UI from here; the vendored JS/CSS are symlinks.
    cpSync(DEBIAN_WEB, join(root, DEBIAN_WEB), { recursive: true, dereference: true });
    mkdirSync(join(root, 'etc/prometheus/rules'), { recursive: true });
    copyFileSync(CONFIG, join(root, 'etc/prometheus/prometheus.yml'));
    copyFileSync(RULES, join(root, 'etc/prometheus/rules/tillid.yml'));
    writeBaseFiles(root, {
      passwd: 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
      group: 'nogroup:x:65534:',
    });
    mkdirSync(join(root, 'prometheus'));
    const tarball = tarRootfs(stage, root, 'prometheus', 65534);
    const version = run(DEBIAN_BINARY, ['--version']).split('\n')[0] ?? 'prometheus';
    const changes = [
      'USER 65534:65534',
      'WORKDIR /prometheus',
      'EXPOSE 9090',
      'VOLUME ["/prometheus"]',
      `LABEL ${LABEL}=${hash}`,
      `LABEL org.opencontainers.image.description="${version.replace(/"/g, '')} from Debian, built offline by docker/prometheus-image.ts"`,
      'ENTRYPOINT ["/usr/bin/prometheus"]',
      'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
    ].flatMap((c) => ['--change', c]);
    run('docker', ['import', ...changes, tarball, PROMETHEUS_IMAGE_TAG]);
    log(`${PROMETHEUS_IMAGE_TAG}: imported offline (${version}, ${libraries} libraries)`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function buildOnline(hash: string): void {
  const context = mkdtempSync(join(tmpdir(), 'tillid-prometheus-'));
  try {
    copyFileSync(CONFIG, join(context, 'prometheus.yml'));
    copyFileSync(RULES, join(context, 'tillid.yml'));
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        `FROM ${UPSTREAM_PROMETHEUS}`,
        'COPY prometheus.yml /etc/prometheus/prometheus.yml',
        'COPY tillid.yml /etc/prometheus/rules/tillid.yml',
        '',
      ].join('\n'),
    );
    run('docker', ['build', '-q', '--label', `${LABEL}=${hash}`, '-t', PROMETHEUS_IMAGE_TAG, context]);
    log(`${PROMETHEUS_IMAGE_TAG}: built FROM ${UPSTREAM_PROMETHEUS}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * Builds tillid/prometheus:dev. Without a mode: online when the upstream image is present or can be
 * pulled, else offline from Debian's package; throws PROMETHEUS_HELP when neither is possible.
 */
export function buildPrometheusImage(mode?: 'online' | 'offline'): void {
  const hash = prometheusSourceHash();
  if (mode === undefined) {
    const upstream =
      succeeds('docker', ['image', 'inspect', UPSTREAM_PROMETHEUS]) ||
      (!existsSync(DEBIAN_BINARY) && succeeds('docker', ['pull', '-q', UPSTREAM_PROMETHEUS]));
    mode = upstream ? 'online' : 'offline';
  }
  if (mode === 'online') buildOnline(hash);
  else buildOffline(hash);
  run('docker', ['tag', PROMETHEUS_IMAGE_TAG, PROMETHEUS_RELEASE_IMAGE]);
}

/** For tests: builds the image when it is missing or older than the rules. */
export function ensurePrometheusImage(): void {
  if (!prometheusImageCurrent()) buildPrometheusImage();
}
