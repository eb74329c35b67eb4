/**
 * Keys and the one signature rule every Tillid node applies.
 *
 * The rule (strict RFC 8032, cofactorless, as libsodium and OpenSSL verify):
 *   1. the public key A and the signature's R are canonical encodings (y < p, and no "negative
 *      zero" x); S < L;
 *   2. neither A nor R is a point of small order;
 *   3. [S]B = R + [k]A with k = SHA-512(R || A || M) mod L, checked by re-encoding.
 * `@noble/curves` verifies ZIP-215 by default and its strict mode uses the cofactored equation; both
 * accept signatures this rule rejects (see test/node/protocol/signature.test.ts for the vectors).
 * Mixing them across nodes would let a crafted signature split the network, so every node calls
 * `verifySignature` and nothing else. Steps 1–2 are checked here; step 3 is OpenSSL's (via
 * node:crypto), which is ten times faster than a JavaScript verify and is itself cofactorless.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, type Hex, toHex } from './hash.ts';

export interface KeyPair {
  /** 32-byte Ed25519 seed, hex. Never logged. */
  readonly privateKey: Hex;
  readonly publicKey: Hex;
}

export function generateKeyPair(): KeyPair {
  const seed = ed25519.utils.randomSecretKey();
  return { privateKey: toHex(seed), publicKey: toHex(ed25519.getPublicKey(seed)) };
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes');
  return { privateKey: toHex(seed), publicKey: toHex(ed25519.getPublicKey(seed)) };
}

/** Client-side signing with noble: pure JavaScript, so support systems' own code can mirror it. */
export const signWithNoble = (message: Uint8Array, privateKey: Hex): Hex =>
  toHex(ed25519.sign(message, fromHex(privateKey)));

// DER prefixes that wrap raw 32-byte Ed25519 keys for node:crypto (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * What signs for a key, wherever the key lives: a key file's `Signer` below, or an HSM through
 * PKCS#11 (node/custody/pkcs11.ts). Consensus (proposals, votes, commits), the CLI and the
 * gateway's submitter sign only through this; verifying stays `verifySignature`, whoever signed.
 */
export interface MessageSigner {
  readonly publicKey: Hex;
  /** An Ed25519 signature over `message`, 128 hex. */
  sign(message: Uint8Array): Hex;
  /** Releases what the signer holds open (an HSM session); key-file signers hold nothing. */
  close?(): void;
}

/** A node signs blocks and votes often, so it keeps its key as a KeyObject (22k signs/s). */
export class Signer implements MessageSigner {
  readonly publicKey: Hex;
  readonly #key: KeyObject;
  constructor(keyPair: KeyPair) {
    this.publicKey = keyPair.publicKey;
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, Buffer.from(keyPair.privateKey, 'hex')]),
      format: 'der',
      type: 'pkcs8',
    });
  }
  sign(message: Uint8Array): Hex {
    return cryptoSign(null, message, this.#key).toString('hex');
  }
  /** Keeps the private key out of `JSON.stringify`, `util.inspect` and therefore out of logs. */
  toJSON() {
    return { publicKey: this.publicKey };
  }
}

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Little-endian bytes to bigint. */
function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/** Canonical point encoding: y < p; x = 0 (y = ±1) must not carry the sign bit. */
function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  const last = bytes[31] as number;
  const sign = last >> 7;
  const yBytes = Uint8Array.from(bytes);
  yBytes[31] = last & 0x7f;
  const y = leToBigInt(yBytes);
  if (y >= P) return false;
  if (sign === 1 && (y === 1n || y === P - 1n)) return false;
  return true;
}

/** Canonical encodings of the eight points of small order. */
const SMALL_ORDER = new Set(ED25519_TORSION_SUBGROUP.map((h) => h.toLowerCase()));

/** Public keys that passed the rule's key checks, as KeyObjects for node:crypto. Bounded. */
const keyCache = new Map<Hex, KeyObject | null>();
const KEY_CACHE_LIMIT = 10_000;

function publicKeyObject(publicKey: Hex): KeyObject | null {
  const cached = keyCache.get(publicKey);
  if (cached !== undefined) return cached;
  let result: KeyObject | null = null;
  const bytes = Buffer.from(publicKey, 'hex');
  if (bytes.length === 32 && isCanonicalPointEncoding(bytes) && !SMALL_ORDER.has(publicKey)) {
    try {
      // Also rejects encodings that are not on the curve at all.
      ed25519.Point.fromBytes(bytes, false);
      result = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
    } catch {
      result = null;
    }
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(publicKey, result);
  return result;
}

/** True when `publicKey` is a key the signature rule can ever accept. */
export const isValidPublicKey = (publicKey: unknown): publicKey is Hex =>
  typeof publicKey === 'string' && /^[0-9a-f]{64}$/.test(publicKey) && publicKeyObject(publicKey) !== null;

/** The signature rule. Never throws: any malformed input is simply not a valid signature. */
export function verifySignature(publicKey: Hex, message: Uint8Array, signature: Hex): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature)) return false;
  if (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(publicKey)) return false;
  const key = publicKeyObject(publicKey);
  if (key === null) return false;
  const sig = Buffer.from(signature, 'hex');
  const r = sig.subarray(0, 32);
  if (!isCanonicalPointEncoding(r) || SMALL_ORDER.has(signature.slice(0, 64))) return false;
  if (leToBigInt(sig.subarray(32)) >= L) return false;
  return cryptoVerify(null, message, key, sig);
}

const textEncoder = new TextEncoder();

/**
 * The bytes actually signed: a domain tag per kind of object, a zero byte, then the object's
 * 32-byte canonical hash. The tag keeps a transaction signature from ever being replayed as a vote.
 */
export function signingMessage(
  kind: 'tx' | 'commit' | 'proposal' | 'vote' | 'cosign' | 'rotate',
  digest: Hex,
): Uint8Array {
  const tag = textEncoder.encode(`tillid/${kind}/v1`);
  const out = new Uint8Array(tag.length + 1 + 32);
  out.set(tag, 0);
  out.set(fromHex(digest), tag.length + 1);
  return out;
}
