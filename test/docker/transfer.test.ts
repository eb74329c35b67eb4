/**
 * Images to an air-gapped host: `docker save` tarballs with SHA256SUMS, verified before
 * `docker load`. A tiny image made with `docker import` stands in for the node image (same
 * commands, seconds instead of minutes). Needs a reachable Docker engine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCKER_HELP, dockerReachable } from '../../docker/build-images.ts';
import { loadImages, SUMS_FILE, saveImages, TransferError, tarballName } from '../../docker/transfer.ts';
import { tempDir } from '../fixtures/node.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function sh(cmd: string, args: string[], cwd?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const imageId = (tag: string): string | undefined => {
  const r = sh('docker', ['image', 'inspect', '-f', '{{.Id}}', tag]);
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** A one-file image under a tag unique to this run; removed after the test. */
function tinyImage(t: { after(fn: () => unknown): void }, dir: string): string {
  const tag = `tillid-transfer-test/tiny:${randomBytes(4).toString('hex')}`;
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, 'release.txt'), randomBytes(64 * 1024).toString('hex'));
  assert.equal(sh('tar', ['-cf', join(dir, 'rootfs.tar'), '-C', rootfs, '.']).status, 0);
  const imported = sh('docker', ['import', join(dir, 'rootfs.tar'), tag]);
  assert.equal(imported.status, 0, imported.stderr);
  t.after(() => sh('docker', ['rmi', '-f', tag]));
  return tag;
}

test('saved images load again on another host after their checksums are verified', async (t) => {
  if (!dockerReachable()) throw new Error(DOCKER_HELP);
  const work = tempDir(t, 'tillid-transfer-');
  const tag = tinyImage(t, work);
  const id = imageId(tag);
  const out = join(work, 'out');

  const files = await saveImages([tag], out);
  assert.deepEqual(files, [tarballName(tag)]);
  // The documented manual check on the target host works on the same file.
  const manual = sh('sha256sum', ['-c', SUMS_FILE], out);
  assert.equal(manual.status, 0, manual.stderr);
  assert.match(manual.stdout, new RegExp(`${tarballName(tag)}: OK`));

  // "Another host": the image is gone until it is loaded from the directory.
  assert.equal(sh('docker', ['rmi', tag]).status, 0);
  assert.equal(imageId(tag), undefined);
  const loaded = await loadImages(out);
  assert.deepEqual(loaded, [tag]);
  assert.equal(imageId(tag), id, 'the loaded image is the saved one');
});

test('a tarball whose checksum does not match is refused and nothing is loaded', async (t) => {
  if (!dockerReachable()) throw new Error(DOCKER_HELP);
  const work = tempDir(t, 'tillid-transfer-');
  const tag = tinyImage(t, work);
  const out = join(work, 'out');
  await saveImages([tag], out);
  assert.equal(sh('docker', ['rmi', tag]).status, 0);

  // One byte changed in the middle of the tarball (a damaged or tampered transfer).
  const file = join(out, tarballName(tag));
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] as number) ^ 0xff;
  writeFileSync(file, bytes);

  // Through the command an operator runs on the air-gapped host.
  const cli = sh(process.execPath, [join(ROOT, 'docker/build-images.ts'), '--load', out]);
  assert.equal(cli.status, 1, cli.stdout + cli.stderr);
  assert.match(cli.stderr, new RegExp(`${tarballName(tag)}: checksum mismatch .*nothing loaded`));
  assert.equal(imageId(tag), undefined, 'the altered image was not loaded');
  await assert.rejects(loadImages(out), TransferError);

  // A tarball that SHA256SUMS does not list, and a directory without SHA256SUMS, are refused too.
  writeFileSync(join(out, SUMS_FILE), '');
  await assert.rejects(loadImages(out), /lists no files/);
  const bare = join(work, 'bare');
  mkdirSync(bare);
  await assert.rejects(loadImages(bare), /SHA256SUMS is missing/);
  const extra = join(work, 'extra');
  mkdirSync(extra);
  writeFileSync(join(extra, 'listed.tar'), 'a');
  writeFileSync(join(extra, SUMS_FILE), `${createHash('sha256').update('a').digest('hex')}  listed.tar\n`);
  writeFileSync(join(extra, 'stray.tar'), 'x');
  await assert.rejects(loadImages(extra), /stray\.tar: not listed/);
  assert.equal(imageId(tag), undefined);
});
