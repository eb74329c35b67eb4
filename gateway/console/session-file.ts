/**
 * The console's sessions on disk, so that a gateway restart does not log everyone out: one file,
 * encrypted and authenticated (AES-256-GCM under a key derived with scrypt from the gateway's
 * secret passphrase and a random salt kept in the file). It holds each session under the SHA-256
 * of its cookie value — never the cookie value itself — with the person as the IdP asserted them,
 * the CSRF token and the expiry times. A file that does not decrypt (another passphrase, tampered
 * with) is not used: everyone logs in again, which is the safe direction. Writes are durable
 * (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old or the new
 * file, and a logout written before it returns stays a logout after any restart.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 1;
/** Binds the ciphertext to its purpose: a file of another kind never decrypts as sessions. */
const AAD = Buffer.from('tillid/console-sessions/v1');

interface Envelope {
  readonly v: number;
  readonly salt: string;
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

export class SessionFile<T> {
  readonly #file: string;
  readonly #key: Buffer;
  readonly #salt: Buffer;
  /** Whether an existing file could not be read with this passphrase (and was set aside). */
  readonly unreadable: boolean;
  readonly #loaded: T[];

  constructor(file: string, passphrase: string) {
    this.#file = file;
    let envelope: Envelope | undefined;
    if (existsSync(file)) {
      try {
        envelope = JSON.parse(readFileSync(file, 'utf8')) as Envelope;
      } catch {
        envelope = undefined;
      }
    }
    this.#salt = envelope?.v === VERSION ? Buffer.from(envelope.salt, 'base64') : randomBytes(16);
    this.#key = scryptSync(passphrase, this.#salt, 32);
    let loaded: T[] = [];
    let unreadable = existsSync(file);
    if (envelope?.v === VERSION) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(envelope.iv, 'base64'));
        decipher.setAAD(AAD);
        decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
        const plain = Buffer.concat([
          decipher.update(Buffer.from(envelope.data, 'base64')),
          decipher.final(),
        ]);
        loaded = JSON.parse(plain.toString('utf8')) as T[];
        unreadable = false;
      } catch {
        loaded = [];
      }
    }
    this.unreadable = unreadable;
    this.#loaded = loaded;
  }

  /** The entries the file held when opened (none when it was missing or unreadable). */
  load(): readonly T[] {
    return this.#loaded;
  }

  /** Replaces the file's entries, durably, before returning. */
  save(entries: readonly T[]): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(AAD);
    const data = Buffer.concat([cipher.update(JSON.stringify(entries), 'utf8'), cipher.final()]);
    const envelope: Envelope = {
      v: VERSION,
      salt: this.#salt.toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    const tmp = `${this.#file}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(envelope));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#file);
    const dir = openSync(dirname(this.#file), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
