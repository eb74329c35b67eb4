/**
 * Secrets sealed under a passphrase: scrypt (node:crypto) derives a 256-bit key from the
 * passphrase and a fresh salt, AES-256-GCM encrypts the secret with authenticated data that binds
 * it to what it belongs to (a public key, a CVR), so a sealed secret cannot be moved to another
 * owner or altered without the open failing. Used by authority key files (key-file.ts) and the
 * gateway's submitter key store (gateway/keystore.ts): one implementation of the cryptography.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/** scrypt cost: about 0.1 s and 32 MiB per open, paid once when a node or tool starts. */
export const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;

export interface Kdf {
  readonly name: 'scrypt';
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface Cipher {
  readonly name: 'aes-256-gcm';
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

export interface Sealed {
  readonly kdf: Kdf;
  readonly cipher: Cipher;
}

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

const maxmem = (N: number, r: number) => 128 * N * r * 2;

export function seal(secret: Uint8Array, passphrase: string, aad: Uint8Array): Sealed {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(passphrase, salt, 32, { ...SCRYPT, maxmem: maxmem(SCRYPT.N, SCRYPT.r) });
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  key.fill(0);
  return {
    kdf: { name: 'scrypt', salt: salt.toString('hex'), ...SCRYPT },
    cipher: {
      name: 'aes-256-gcm',
      iv: iv.toString('hex'),
      tag: cipher.getAuthTag().toString('hex'),
      ciphertext: ciphertext.toString('hex'),
    },
  };
}

const hex = (v: unknown, bytes?: number) =>
  typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v) && (bytes === undefined || v.length === bytes * 2);

/**
 * Checks the shape before any work: the parameters come from a file, and an scrypt cost read from
 * a tampered file must not make a node spend minutes or gigabytes before it says the file is bad.
 */
export function isSealed(value: unknown): value is Sealed {
  const v = value as Partial<Sealed> | null;
  if (typeof v !== 'object' || v === null || typeof v.kdf !== 'object' || typeof v.cipher !== 'object')
    return false;
  const { kdf, cipher } = v as Sealed;
  return (
    kdf.name === 'scrypt' &&
    hex(kdf.salt, 16) &&
    Number.isInteger(kdf.N) &&
    kdf.N >= 1 << 14 &&
    kdf.N <= 1 << 20 &&
    (kdf.N & (kdf.N - 1)) === 0 &&
    Number.isInteger(kdf.r) &&
    kdf.r >= 1 &&
    kdf.r <= 16 &&
    Number.isInteger(kdf.p) &&
    kdf.p >= 1 &&
    kdf.p <= 4 &&
    cipher.name === 'aes-256-gcm' &&
    hex(cipher.iv, 12) &&
    hex(cipher.tag, 16) &&
    hex(cipher.ciphertext) &&
    cipher.ciphertext.length > 0 &&
    cipher.ciphertext.length <= 8192
  );
}

/** The secret; a wrong passphrase, other authenticated data or any altered byte throws SealError. */
export function unseal(sealed: Sealed, passphrase: string, aad: Uint8Array): Buffer {
  if (!isSealed(sealed)) throw new SealError('not a sealed secret this version can open');
  const { N, r, p } = sealed.kdf;
  const key = scryptSync(passphrase, Buffer.from(sealed.kdf.salt, 'hex'), 32, {
    N,
    r,
    p,
    maxmem: maxmem(N, r),
  });
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.cipher.iv, 'hex'));
  decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(sealed.cipher.tag, 'hex'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.cipher.ciphertext, 'hex')), decipher.final()]);
  } catch {
    throw new SealError('wrong passphrase, or the file was altered');
  } finally {
    key.fill(0);
  }
}
