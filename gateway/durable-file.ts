/**
 * Durable small-file writes for the gateway's own state (documents, delivery cursors, webhook
 * subscriptions): a crash leaves either the old or the new file, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** fsyncs a directory, so that renames and unlinks in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file durably: temp file (mode 0600), fsync, rename, fsync of the directory. */
export async function writeFileDurably(path: string, data: Uint8Array | string, dir: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dir);
}
