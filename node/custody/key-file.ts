/**
 * Key files: one Ed25519 key, encrypted under a passphrase by default. The format (version 1):
 *
 *   { "format": "tillid-key", "version": 1, "publicKey": "<64 hex>",
 *     "kdf":    { "name": "scrypt", "salt": "<32 hex>", "N": 32768, "r": 8, "p": 1 },
 *     "cipher": { "name": "aes-256-gcm", "iv": "<24 hex>", "tag": "<32 hex>", "ciphertext": "<64 hex>" } }
 *
 * The ciphertext is the 32-byte seed; the authenticated data is `tillid-key/v1\n<publicKey>`, so the
 * public key in the file (readable without the passphrase, for the key ceremony) cannot be swapped.
 * The older plaintext form `{ publicKey, privateKey }` is still read, with a loud warning, and
 * written only on explicit request (`tillid keys generate --plaintext`); `tillid keys encrypt`
 * converts it. A key file is created on the host that uses it (the ceremony shares public keys).
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fromHex, type Hex } from '../protocol/hash.ts';
import { isValidPublicKey, type KeyPair, keyPairFromSeed } from '../protocol/signature.ts';
import { passphraseFileOf, readPassphrase } from './passphrase.ts';
import { isSealed, SealError, type Sealed, seal, unseal } from './sealed.ts';

export const KEY_FILE_FORMAT = 'tillid-key';

interface EncryptedKeyFile extends Sealed {
  readonly format: typeof KEY_FILE_FORMAT;
  readonly version: 1;
  readonly publicKey: Hex;
}

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

const aad = (publicKey: Hex) => Buffer.from(`tillid-key/v1\n${publicKey}`);

function writeOwnerOnly(path: string, value: object): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/** Writes `keyPair` encrypted under `passphrase` to a new file (never overwrites). */
export function writeEncryptedKeyFile(path: string, keyPair: KeyPair, passphrase: string): void {
  const seed = Buffer.from(keyPair.privateKey, 'hex');
  const file: EncryptedKeyFile = {
    format: KEY_FILE_FORMAT,
    version: 1,
    publicKey: keyPair.publicKey,
    ...seal(seed, passphrase, aad(keyPair.publicKey)),
  };
  seed.fill(0);
  writeOwnerOnly(path, file);
}

/** The plaintext form: only on an operator's explicit request, or for tests. */
export function writePlaintextKeyFile(path: string, keyPair: KeyPair): void {
  writeOwnerOnly(path, { publicKey: keyPair.publicKey, privateKey: keyPair.privateKey });
}

function parse(path: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof value !== 'object' || value === null) throw new Error('not a JSON object');
    return value;
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
}

const isEncrypted = (file: Record<string, unknown>) => file.format === KEY_FILE_FORMAT;

export const isEncryptedKeyFile = (path: string): boolean => isEncrypted(parse(path));

/** The public key in a key file, read without the passphrase (it is public). */
export function keyFilePublicKey(path: string): Hex {
  const file = parse(path);
  if (isEncrypted(file) && isValidPublicKey(file.publicKey)) return file.publicKey;
  if (!isEncrypted(file) && typeof file.privateKey === 'string') return readPlaintext(path, file).publicKey;
  throw new KeyFileError(`key file ${path} has no valid publicKey`);
}

export interface ReadOptions {
  /** The passphrase file; otherwise TILLID_PASSPHRASE_FILE or the Docker/Kubernetes secret path. */
  readonly passphraseFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Plaintext files are read with a warning unless this is false (then refused). */
  readonly allowPlaintext?: boolean;
}

/** The key pair in `path`; decrypts with the passphrase file when the file is encrypted. */
export function readKeyFile(path: string, o: ReadOptions = {}): KeyPair {
  const file = parse(path);
  if (!isEncrypted(file)) {
    if (o.allowPlaintext === false) throw new KeyFileError(`key file ${path} is not encrypted`);
    const keyPair = readPlaintext(path, file);
    process.emitWarning(
      `key file ${path} holds its private key in PLAINTEXT: anyone who can read the file can sign as ` +
        `${keyPair.publicKey.slice(0, 16)}…; encrypt it with \`tillid keys encrypt\``,
      'PlaintextKeyWarning',
    );
    return keyPair;
  }
  if (file.version !== 1 || !isValidPublicKey(file.publicKey) || !isSealed(file))
    throw new KeyFileError(
      `key file ${path}: not a key file this version can read (format ${KEY_FILE_FORMAT} v1)`,
    );
  const passphraseFile = passphraseFileOf(o.passphraseFile, o.env);
  let seed: Buffer;
  try {
    seed = unseal(file, readPassphrase(passphraseFile), aad(file.publicKey));
  } catch (e) {
    if (e instanceof SealError)
      throw new KeyFileError(
        `key file ${path}: wrong passphrase (from ${passphraseFile}), or the file was altered`,
      );
    throw e;
  }
  if (seed.length !== 32) throw new KeyFileError(`key file ${path}: the sealed key is not an Ed25519 seed`);
  const keyPair = keyPairFromSeed(seed);
  seed.fill(0);
  if (keyPair.publicKey !== file.publicKey)
    throw new KeyFileError(`key file ${path}: publicKey does not belong to the sealed key`);
  warnIfShared(path);
  return keyPair;
}

function readPlaintext(path: string, file: Record<string, unknown>): KeyPair {
  if (typeof file.privateKey !== 'string' || !/^[0-9a-f]{64}$/.test(file.privateKey)) {
    throw new KeyFileError(`key file ${path} has no valid privateKey`);
  }
  const keyPair = keyPairFromSeed(fromHex(file.privateKey));
  if (file.publicKey !== undefined && file.publicKey !== keyPair.publicKey) {
    throw new KeyFileError(`key file ${path}: publicKey does not belong to privateKey`);
  }
  if (!isValidPublicKey(keyPair.publicKey)) throw new KeyFileError(`key file ${path}: unusable key`);
  warnIfShared(path);
  return keyPair;
}

function warnIfShared(path: string): void {
  if ((statSync(path).mode & 0o077) !== 0) {
    // Not fatal (containers mount files with their own modes), but an operator should know.
    process.emitWarning(`key file ${path} is readable by others; chmod 600 it`);
  }
}

/**
 * The key of the node whose config is `configFile` (a node with a key file): its `keyFile` opened
 * with its `passphraseFile`, both relative to the config. For development tools and tests that
 * act as a development network's authorities; an HSM-held key is opened with open-signer.ts.
 */
export function readNodeConfigKey(configFile: string, env: NodeJS.ProcessEnv = process.env): KeyPair {
  const config = parse(configFile);
  if (typeof config.keyFile !== 'string') throw new KeyFileError(`${configFile} names no keyFile`);
  const base = dirname(resolve(configFile));
  const passphraseFile = env.TILLID_PASSPHRASE_FILE
    ? undefined
    : typeof config.passphraseFile === 'string'
      ? resolve(base, config.passphraseFile)
      : undefined;
  return readKeyFile(resolve(base, config.keyFile), { passphraseFile, env });
}
