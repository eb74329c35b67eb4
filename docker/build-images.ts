/**
 * `npm run images`: builds tillid/node, tillid/gateway and tillid/prometheus, each tagged with the
 * release (package.json's version, which deployments name) and `:dev` (tags.ts).
 *
 *   npm run images [-- --online | --offline] [--node-image node:24-slim] [--rebuild-runtime]
 *                  [--only node|gateway|prometheus] [--save DIR]
 *   npm run images -- --load DIR
 *
 * --save DIR writes the release-tagged images as `docker save` tarballs with a SHA256SUMS file;
 * --load DIR, on the air-gapped host, checks every checksum and then loads them (transfer.ts).
 *
 * Online: stages a small build context (package.json, lock file, sources) and builds the
 * multi-stage Dockerfiles on the official Node base. Offline (air-gapped hosts, this project's CI):
 * pulls nothing. A runtime base image, tillid/node-runtime:<node version>, is made with `docker
 * import` from the Node binary running this script plus the shared libraries `ldd` lists for it;
 * the images are then built FROM it with the sources and the production node_modules copied from
 * this checkout. Without a flag the online path is taken when the base image is present or can be
 * pulled, the offline one otherwise. tillid/prometheus:dev (monitoring profile) is made by
 * prometheus-image.ts; when it cannot be made the node images are still built and the message says
 * what to install.
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
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPrometheusImage, PROMETHEUS_IMAGE_TAG, PROMETHEUS_RELEASE_IMAGE } from './prometheus-image.ts';
import { copySharedLibraries, tarRootfs, writeBaseFiles } from './rootfs.ts';
import { devTag, releaseTag } from './tags.ts';
import { loadImages, SUMS_FILE, saveImages } from './transfer.ts';

export const ROOT = join(import.meta.dirname, '..');
/** The tag the test suites use. TILLID_NODE_IMAGE / TILLID_GATEWAY_IMAGE: see tags.ts. */
export const NODE_IMAGE_TAG = process.env.TILLID_NODE_IMAGE ?? devTag('node');
export const GATEWAY_IMAGE_TAG = process.env.TILLID_GATEWAY_IMAGE ?? devTag('gateway');
const DEFAULT_BASE = 'node:24-slim';

export const DOCKER_HELP = `Docker is not reachable (docker info failed). Start it, e.g. as root on Debian:
  apt-get update && apt-get install -y docker.io docker-compose
  dockerd >/var/log/dockerd.log 2>&1 &
  until docker info >/dev/null 2>&1; do sleep 1; done
(.ci/run does this on a fresh machine.)`;

interface ImageSpec {
  readonly name: 'node' | 'gateway';
  /** The tag tests use (`:dev`, or the TILLID_*_IMAGE override). */
  readonly tag: string;
  /** Every tag the build gives the image: the release tag and `:dev`, or just the override. */
  readonly tags: readonly string[];
  /** Paths copied from the checkout into the image's /app. */
  readonly sources: readonly string[];
}

const tagsOf = (name: ImageSpec['name'], override: string | undefined): string[] =>
  override ? [override] : [releaseTag(name), devTag(name)];

const IMAGES: readonly ImageSpec[] = [
  {
    name: 'node',
    tag: NODE_IMAGE_TAG,
    tags: tagsOf('node', process.env.TILLID_NODE_IMAGE),
    // client/: the CLI's signing commands (tx, party, contract, authority) run inside the node container.
    sources: ['package.json', 'node', 'client', 'deploy/init.ts'],
  },
  {
    name: 'gateway',
    tag: GATEWAY_IMAGE_TAG,
    tags: tagsOf('gateway', process.env.TILLID_GATEWAY_IMAGE),
    sources: ['package.json', 'node', 'gateway', 'deploy/gateway-init.ts', 'deploy/token-service.ts'],
  },
];

/** The images this checkout can build: the gateway only once its entry point exists. */
export function buildableImages(): ImageSpec[] {
  return IMAGES.filter((i) => i.name !== 'gateway' || existsSync(join(ROOT, 'gateway', 'main.ts')));
}

function run(cmd: string, args: string[], options: { quiet?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited ${r.status}:\n${r.stderr || r.stdout}`);
  if (!options.quiet && r.stderr.trim()) process.stderr.write(r.stderr);
  return r.stdout;
}

const succeeds = (cmd: string, args: string[]): boolean =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 180_000 }).status === 0;

export function dockerReachable(): boolean {
  return succeeds('docker', ['info']);
}

export function imageExists(tag: string): boolean {
  return succeeds('docker', ['image', 'inspect', tag]);
}

const log = (line: string) => console.error(`images: ${line}`);

// ---- offline runtime base ----------------------------------------------------------------------

/**
 * tillid/node-runtime:<version>: the Node binary, its libraries (and those of the native modules
 * the node loads), /etc/passwd with uid 1000 `tillid`, /tmp, and /var/lib/tillid owned by 1000.
 */
function buildRuntimeImage(tag: string): void {
  const node = realpathSync(process.execPath);
  const stage = mkdtempSync(join(tmpdir(), 'tillid-runtime-'));
  try {
    const root = join(stage, 'rootfs');
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    copyFileSync(node, join(root, 'usr/local/bin/node'));
    // The npm build carries symbols and debug info (≈ 18 MB). The dynamic symbol table, which native
    // addons such as classic-level link against, survives --strip-all.
    if (succeeds('strip', ['--version'])) run('strip', ['--strip-all', join(root, 'usr/local/bin/node')]);
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    const natives = [
      join(ROOT, 'node_modules/classic-level/prebuilds/linux-x64/classic-level.node'),
      // The PKCS#11 binding, built at npm install; loaded only by a node configured with an HSM.
      join(ROOT, 'node_modules/pkcs11js/build/Release/pkcs11.node'),
    ];
    const libraries = copySharedLibraries(root, [node, ...natives.filter((f) => existsSync(f))]);
    writeBaseFiles(root, {
      passwd: 'tillid:x:1000:1000:Tillid:/var/lib/tillid:/sbin/nologin',
      group: 'tillid:x:1000:',
    });
    mkdirSync(join(root, 'var/lib/tillid'), { recursive: true });
    chmodSync(join(root, 'var/lib/tillid'), 0o700);
    // The state directory belongs to the node's user.
    const tarball = tarRootfs(stage, root, 'var/lib/tillid', 1000);
    const changes = [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      `ENV NODE_VERSION=${process.versions.node}`,
      'WORKDIR /',
      `LABEL org.opencontainers.image.description="Node ${process.versions.node} runtime for Tillid, built offline by docker/build-images.ts"`,
    ].flatMap((c) => ['--change', c]);
    run('docker', ['import', ...changes, tarball, tag], { quiet: true });
    log(`${tag}: imported (Node ${process.versions.node} + ${libraries} libraries)`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

// ---- production node_modules -------------------------------------------------------------------

/**
 * The package directories the production dependencies resolve to, found the way Node resolves
 * them (nearest node_modules first, then the parents'), from package.json's `dependencies`.
 */
export function productionPackages(root = ROOT): string[] {
  const found = new Set<string>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dir === root || dirname(dir) === dir) return undefined;
    }
  };
  const visit = (name: string, from: string, optional: boolean) => {
    const pkgDir = resolve(from, name);
    if (pkgDir === undefined) {
      if (!optional) throw new Error(`dependency ${name} (needed by ${from}) is not installed`);
      return;
    }
    if (found.has(pkgDir)) return;
    found.add(pkgDir);
    walk(pkgDir);
  };
  const walk = (dir: string) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(pkg.dependencies ?? {})) visit(name, dir, false);
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) visit(name, dir, true);
    // npm installs peers too; those that are present are part of the production tree.
    for (const name of Object.keys(pkg.peerDependencies ?? {})) visit(name, dir, true);
  };
  walk(root);
  return [...found].sort();
}

/** Copies the production packages into `out/node_modules`, without other platforms' binaries. */
function copyProductionModules(out: string): number {
  const packages = productionPackages();
  for (const dir of packages) {
    const target = join(out, relative(ROOT, dir));
    cpSync(dir, target, {
      recursive: true,
      filter: (source) => {
        const rel = relative(dir, source);
        // Nested node_modules are copied as packages of their own when they are needed.
        if (rel === 'node_modules') return false;
        if (rel.startsWith('prebuilds/') && rel.split('/').length === 2 && rel !== 'prebuilds/linux-x64')
          return false;
        return true;
      },
    });
  }
  return packages.length;
}

// ---- building ----------------------------------------------------------------------------------

const SOURCE_LABEL = 'org.tillid.source-hash';

/**
 * A hash of what goes into an image (its sources, the lock file, its Dockerfiles, the Node
 * version), stored as a label so tests can tell a stale image from a current one.
 */
export function sourceHash(spec: ImageSpec): string {
  const hash = createHash('sha256').update(process.versions.node);
  const add = (path: string) => {
    const full = join(ROOT, path);
    if (!existsSync(full)) return;
    const files = statSync(full).isDirectory()
      ? readdirSync(full, { withFileTypes: true, recursive: true })
          .filter((e) => e.isFile())
          .map((e) => relative(ROOT, join(e.parentPath, e.name)))
          .sort()
      : [path];
    for (const file of files)
      hash
        .update(`${file}\0`)
        .update(readFileSync(join(ROOT, file)))
        .update('\0');
  };
  for (const source of spec.sources) add(source);
  for (const file of [
    'package-lock.json',
    `docker/${spec.name}.Dockerfile`,
    `docker/${spec.name}.offline.Dockerfile`,
  ])
    add(file);
  return hash.digest('hex');
}

/** Whether `spec`'s image exists and was built from the sources as they are now. */
export function imageCurrent(spec: ImageSpec): boolean {
  const r = spawnSync(
    'docker',
    ['image', 'inspect', '-f', `{{index .Config.Labels "${SOURCE_LABEL}"}}`, spec.tag],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0 && r.stdout.trim() === sourceHash(spec) && spec.tags.every((tag) => imageExists(tag));
}

/**
 * For test suites: fails with instructions when Docker is not reachable, and builds the images
 * `names` when they are missing or older than the sources.
 */
export function ensureImages(names: readonly ImageSpec['name'][] = ['node']): void {
  if (!dockerReachable()) throw new Error(DOCKER_HELP);
  const stale = buildableImages().filter((s) => names.includes(s.name) && !imageCurrent(s));
  if (stale.length === 0) return;
  log(`building ${stale.map((s) => s.tag).join(', ')} (missing or older than the sources)`);
  buildImages({ only: stale.map((s) => s.name) });
}

const tagArgs = (spec: ImageSpec): string[] => spec.tags.flatMap((tag) => ['-t', tag]);

function stageSources(spec: ImageSpec, app: string): void {
  for (const source of spec.sources) {
    mkdirSync(join(app, dirname(source)), { recursive: true });
    cpSync(join(ROOT, source), join(app, source), { recursive: true });
  }
}

function buildOffline(spec: ImageSpec, runtime: string): void {
  const context = mkdtempSync(join(tmpdir(), `tillid-image-${spec.name}-`));
  try {
    const app = join(context, 'app');
    stageSources(spec, app);
    const count = copyProductionModules(app);
    copyFileSync(join(ROOT, 'docker', `${spec.name}.offline.Dockerfile`), join(context, 'Dockerfile'));
    const label = `${SOURCE_LABEL}=${sourceHash(spec)}`;
    run(
      'docker',
      ['build', '-q', '--label', label, '--build-arg', `RUNTIME_IMAGE=${runtime}`, ...tagArgs(spec), context],
      { quiet: true },
    );
    log(`${spec.tags.join(', ')}: built offline FROM ${runtime} (${count} production packages)`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

function buildOnline(spec: ImageSpec, base: string): void {
  const context = mkdtempSync(join(tmpdir(), `tillid-image-${spec.name}-`));
  try {
    stageSources(spec, context);
    copyFileSync(join(ROOT, 'package-lock.json'), join(context, 'package-lock.json'));
    copyFileSync(join(ROOT, 'docker', `${spec.name}.Dockerfile`), join(context, 'Dockerfile'));
    const label = `${SOURCE_LABEL}=${sourceHash(spec)}`;
    run(
      'docker',
      ['build', '-q', '--label', label, '--build-arg', `NODE_IMAGE=${base}`, ...tagArgs(spec), context],
      {
        quiet: true,
      },
    );
    log(`${spec.tags.join(', ')}: built FROM ${base}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

export interface BuildOptions {
  mode?: 'online' | 'offline';
  nodeImage?: string;
  rebuildRuntime?: boolean;
  only?: readonly string[];
}

/** Builds the images; returns each one's first tag (the release tag, or the TILLID_*_IMAGE override). */
export function buildImages(options: BuildOptions = {}): string[] {
  if (!dockerReachable()) throw new Error(DOCKER_HELP);
  const base = options.nodeImage ?? DEFAULT_BASE;
  let mode = options.mode;
  const nodeImagesWanted = !options.only?.length || options.only.some((n) => n !== 'prometheus');
  if (mode === undefined && nodeImagesWanted) {
    mode = imageExists(base) || succeeds('docker', ['pull', '-q', base]) ? 'online' : 'offline';
    log(mode === 'online' ? `${base} is available: online build` : `${base} cannot be pulled: offline build`);
  }
  const specs = buildableImages().filter((s) => !options.only?.length || options.only.includes(s.name));
  const built: string[] = [];
  if (!options.only?.length || options.only.includes('prometheus')) {
    try {
      log(`${PROMETHEUS_IMAGE_TAG}: building`);
      buildPrometheusImage(options.mode);
      built.push(PROMETHEUS_RELEASE_IMAGE);
    } catch (e) {
      // Monitoring is optional: the node images are still built, and the message says what to do.
      if (options.only?.includes('prometheus')) throw e;
      log(`no ${PROMETHEUS_IMAGE_TAG}: ${(e as Error).message}`);
    }
  }
  if (mode === 'offline') {
    const runtime = `tillid/node-runtime:${process.versions.node}`;
    if (options.rebuildRuntime || !imageExists(runtime)) buildRuntimeImage(runtime);
    for (const spec of specs) {
      log(`${spec.tag}: building offline`);
      buildOffline(spec, runtime);
    }
  } else {
    for (const spec of specs) {
      log(`${spec.tag}: building FROM ${base}`);
      buildOnline(spec, base);
    }
  }
  if (!specs.some((s) => s.name === 'gateway') && !options.only?.length)
    log('gateway/main.ts does not exist yet: no gateway image');
  return [...specs.map((s) => s.tags[0] as string), ...built];
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      online: { type: 'boolean', default: false },
      offline: { type: 'boolean', default: false },
      'node-image': { type: 'string' },
      'rebuild-runtime': { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      save: { type: 'string' },
      load: { type: 'string' },
    },
  });
  try {
    if (values.load !== undefined) {
      // The air-gapped host: verify and load what --save wrote; nothing is built.
      for (const tag of await loadImages(values.load)) console.log(`loaded ${tag}`);
    } else await build(values);
  } catch (e) {
    console.error(`images: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

async function build(values: {
  online: boolean;
  offline: boolean;
  'node-image'?: string | undefined;
  'rebuild-runtime': boolean;
  only?: string[] | undefined;
  save?: string | undefined;
}): Promise<void> {
  const started = performance.now();
  const tags = buildImages({
    ...(values.online ? { mode: 'online' as const } : values.offline ? { mode: 'offline' as const } : {}),
    ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
    rebuildRuntime: values['rebuild-runtime'],
    ...(values.only ? { only: values.only } : {}),
  });
  for (const tag of tags) {
    const size = Number(run('docker', ['image', 'inspect', '-f', '{{.Size}}', tag]).trim());
    console.log(`${tag}\t${(size / 1e6).toFixed(0)} MB`);
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (values.save !== undefined) {
    log(`saving ${tags.join(', ')} to ${values.save} (docker save)`);
    const files = await saveImages(tags, values.save);
    log(`wrote ${files.join(', ')} and ${SUMS_FILE} in ${values.save}`);
  }
}
