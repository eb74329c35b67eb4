/**
 * The parts of an offline `docker import` root file system that build-images.ts (the Node runtime)
 * and prometheus-image.ts (Debian's Prometheus) make alike: the shared libraries `ldd` lists, the
 * minimal /etc and /tmp, and a tarball in which root owns everything but one state directory.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function tar(args: string[]): void {
  const r = spawnSync('tar', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`tar ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`tar ${args.slice(0, 3).join(' ')} … exited ${r.status}:\n${r.stderr}`);
}

/** Every shared library `ldd` lists for `file`, as [path as linked, real file]; none for a static binary. */
export function sharedLibraries(file: string): [string, string][] {
  const out: [string, string][] = [];
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.error) throw new Error(`ldd ${file}: ${r.error.message}`);
  // A static binary: ldd exits 1 ("not a dynamic executable") and nothing needs copying.
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) out.push([m[1], realpathSync(m[1])]);
  }
  return out;
}

/** Copies the shared libraries of `files` into `root` at the paths they are linked as; returns how many. */
export function copySharedLibraries(root: string, files: readonly string[]): number {
  const libraries = new Map<string, string>();
  for (const file of files) for (const [linked, real] of sharedLibraries(file)) libraries.set(linked, real);
  for (const [linked, real] of libraries) {
    mkdirSync(join(root, dirname(linked)), { recursive: true });
    copyFileSync(real, join(root, linked));
  }
  return libraries.size;
}

/** /etc/passwd, /etc/group (root and `user`), /etc/nsswitch.conf and a sticky /tmp in `root`. */
export function writeBaseFiles(root: string, user: { passwd: string; group: string }): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\n${user.passwd}\n`);
  writeFileSync(join(root, 'etc/group'), `root:x:0:\n${user.group}\n`);
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
}

/**
 * `<stage>/rootfs.tar` from `root`, in two passes so ownership does not depend on who runs this:
 * root owns everything but `stateDir` (relative, e.g. `var/lib/tillid`), which belongs to `uid`:`uid`.
 */
export function tarRootfs(stage: string, root: string, stateDir: string, uid: number): string {
  const tarball = join(stage, 'rootfs.tar');
  const common = ['--numeric-owner', '-C', root];
  tar([...common, '--owner=0', '--group=0', `--exclude=./${stateDir}`, '-cf', tarball, '.']);
  tar([...common, `--owner=${uid}`, `--group=${uid}`, '-rf', tarball, `./${stateDir}`]);
  return tarball;
}
