/**
 * Where a key's passphrase (or an HSM's PIN) comes from: always a file, never the command line or
 * an environment variable holding the secret itself — argv is visible to every user in `ps`, and
 * environment variables end up in `docker inspect`, crash reports and child processes. The file is
 * named, in this order, by:
 *   1. `--passphrase-file <file>` (CLI) or `passphraseFile` in a node's config;
 *   2. the environment variable TILLID_PASSPHRASE_FILE (it names a file; it does not hold the secret);
 *   3. /run/secrets/tillid-key-passphrase, where Docker and Kubernetes mount a secret of that name.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

export const PASSPHRASE_ENV = 'TILLID_PASSPHRASE_FILE';
export const SECRET_PATH = '/run/secrets/tillid-key-passphrase';
/** A new key's passphrase must be at least this long (the generated ones are 32 characters). */
export const MIN_PASSPHRASE_LENGTH = 12;
/** The name generators give a development network's passphrase files, so nobody mistakes them. */
export const THROWAWAY_PASSPHRASE_FILE = 'THROWAWAY-DEVELOPMENT.passphrase';

export class PassphraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PassphraseError';
  }
}

/** The passphrase file to use, by the order above; throws saying how to give one. */
export function passphraseFileOf(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  if (existsSync(SECRET_PATH)) return SECRET_PATH;
  throw new PassphraseError(
    `no passphrase file was given for the encrypted key: use --passphrase-file <file> (or passphraseFile ` +
      `in the node's config), set ${PASSPHRASE_ENV} to a file's path, or mount a secret at ${SECRET_PATH}`,
  );
}

/** The file's content without one trailing newline (editors and `echo` add one). */
export function readPassphrase(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PassphraseError(
      `cannot read passphrase file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase === '') throw new PassphraseError(`passphrase file ${file} is empty`);
  if ((statSync(file).mode & 0o077) !== 0 && !file.startsWith('/run/secrets/')) {
    process.emitWarning(`passphrase file ${file} is readable by others; chmod 600 it`);
  }
  return passphrase;
}

/** A passphrase for a new key, refused when too short to resist guessing against a stolen file. */
export function readNewPassphrase(file: string): string {
  const passphrase = readPassphrase(file);
  if (passphrase.length < MIN_PASSPHRASE_LENGTH)
    throw new PassphraseError(
      `the passphrase in ${file} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  return passphrase;
}

/** Writes a random passphrase (192 bits) to a new file readable by its owner only; returns it. */
export function writeRandomPassphrase(file: string): string {
  const passphrase = randomBytes(24).toString('base64url');
  writeFileSync(file, `${passphrase}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return passphrase;
}
