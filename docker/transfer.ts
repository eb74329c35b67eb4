/**
 * Moving images to an air-gapped host: `npm run images -- --save DIR` writes one `docker save`
 * tarball per image and a SHA256SUMS file (the format `sha256sum -c` reads); on the target host
 * `npm run images -- --load DIR` (or `sha256sum -c SHA256SUMS && docker load -i …`) loads them.
 *
 * Loading checks every checksum first and loads nothing when any file is missing, altered, or not
 * listed: a half-loaded set of images would leave the host running a mix of releases.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SUMS_FILE = 'SHA256SUMS';

/** Refused transfer: what is wrong, and that nothing was loaded. */
export class TransferError extends Error {
  override name = 'TransferError';
}

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw new Error(`docker ${args[0]}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`docker ${args.slice(0, 2).join(' ')} … exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `tillid/node:0.2.0` → `tillid-node-0.2.0.tar`. */
export const tarballName = (tag: string): string => `${tag.replace(/[^A-Za-z0-9._-]+/g, '-')}.tar`;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Saves each image to DIR/<name>.tar and writes DIR/SHA256SUMS; returns the file names. */
export async function saveImages(tags: readonly string[], dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (const tag of tags) {
    const name = tarballName(tag);
    docker(['save', '-o', join(dir, name), tag]);
    lines.push(`${await sha256(join(dir, name))}  ${name}`);
  }
  writeFileSync(join(dir, SUMS_FILE), `${lines.join('\n')}\n`);
  return lines.map((l) => l.slice(66));
}

/** SHA256SUMS → file name → checksum. Only plain file names: nothing outside DIR is ever read. */
function readSums(dir: string): Map<string, string> {
  const path = join(dir, SUMS_FILE);
  if (!existsSync(path))
    throw new TransferError(`${path} is missing: refusing to load images whose checksums cannot be checked`);
  const sums = new Map<string, string>();
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/.exec(line);
    if (!m)
      throw new TransferError(`${SUMS_FILE} line ${i + 1} is not "<sha256>  <file name>": nothing loaded`);
    sums.set(m[2] as string, m[1] as string);
  }
  if (sums.size === 0) throw new TransferError(`${SUMS_FILE} lists no files: nothing loaded`);
  return sums;
}

/**
 * Checks every tarball in DIR against SHA256SUMS, then `docker load`s them; returns the image
 * tags loaded. Throws TransferError, having loaded nothing, on a missing, altered or unlisted file.
 */
export async function loadImages(dir: string): Promise<string[]> {
  const sums = readSums(dir);
  const unlisted = readdirSync(dir).filter((f) => f.endsWith('.tar') && !sums.has(f));
  if (unlisted.length > 0)
    throw new TransferError(`${unlisted.join(', ')}: not listed in ${SUMS_FILE}: nothing loaded`);
  for (const [name, expected] of sums) {
    const file = join(dir, name);
    if (!existsSync(file))
      throw new TransferError(`${name} is listed in ${SUMS_FILE} but missing: nothing loaded`);
    const actual = await sha256(file);
    if (actual !== expected)
      throw new TransferError(
        `${name}: checksum mismatch (${SUMS_FILE} says ${expected}, the file is ${actual}): nothing loaded`,
      );
  }
  const loaded: string[] = [];
  for (const name of sums.keys())
    for (const line of docker(['load', '-q', '-i', join(dir, name)]).split('\n')) {
      const m = /^Loaded image(?: ID)?: (\S+)$/.exec(line.trim());
      if (m) loaded.push(m[1] as string);
    }
  return loaded;
}
