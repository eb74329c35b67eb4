/**
 * Transactions: what a signer asks the chain to do.
 *
 * Replay protection is a client-chosen `nonce` plus an `expiresAt` (ms since the epoch, compared
 * with block time). A transaction is identified by the hash of its unsigned body, and a hash can
 * be included once. Unlike an account sequence number this never makes a busy signer — a gateway
 * submitting for a whole municipality — wait for one submission before sending the next.
 */
import { canonicalBytes, canonicalSafetyProblem, type JsonObject } from './canonical.ts';
import { TillidError } from './errors.ts';
import { type Hex, sha256Hex } from './hash.ts';
import {
  isValidPublicKey,
  type Signer,
  signingMessage,
  signWithNoble,
  verifySignature,
} from './signature.ts';

export interface TransactionBody {
  readonly chainId: string;
  /** `module.action`, e.g. `anchor.record`. */
  readonly type: string;
  readonly payload: JsonObject;
  /** Public key of the signer, hex. */
  readonly signer: Hex;
  /** Unique per signer and body; 8–64 characters of [A-Za-z0-9_-]. */
  readonly nonce: string;
  /** Last block time (ms since the epoch) at which the transaction may be included. */
  readonly expiresAt: number;
}

export interface Transaction extends TransactionBody {
  readonly signature: Hex;
}

/** Upper bound on a transaction's canonical size. Documents stay off chain; this is ample. */
export const MAX_TX_BYTES = 16 * 1024;

const BODY_KEYS = ['chainId', 'type', 'payload', 'signer', 'nonce', 'expiresAt'] as const;
const TX_KEYS = new Set<string>([...BODY_KEYS, 'signature']);
const TYPE_PATTERN = /^[a-z][a-z0-9]{0,31}\.[a-z][a-zA-Z0-9]{0,63}$/;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
const CHAIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const bodyOf = (tx: Transaction): TransactionBody => ({
  chainId: tx.chainId,
  type: tx.type,
  payload: tx.payload,
  signer: tx.signer,
  nonce: tx.nonce,
  expiresAt: tx.expiresAt,
});

/** The transaction id: SHA-256 of the canonical unsigned body. */
export const transactionHash = (tx: TransactionBody): Hex =>
  sha256Hex(canonicalBytes(bodyOf(tx as Transaction)));

const malformed = (message: string, field?: string): TillidError =>
  new TillidError('TX_MALFORMED', message, field ? { field } : undefined);

/** A decoded transaction with what every later step needs, computed once. */
export interface DecodedTransaction {
  readonly tx: Transaction;
  readonly hash: Hex;
  /** Canonical size in bytes. */
  readonly bytes: number;
}

// `,"signature":"<128 hex>"` adds a fixed number of bytes to the canonical body.
const SIGNATURE_FIELD_BYTES = ',"signature":""'.length + 128;

/**
 * Checks that `input` has exactly the shape of a transaction and returns it typed, with its hash
 * and size from a single canonicalisation. Says nothing about the signature, the chain or the
 * payload's meaning; those are separate checks.
 */
export function decodeTransaction(input: unknown): DecodedTransaction {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw malformed('a transaction is a JSON object');
  }
  const tx = input as Record<string, unknown>;
  for (const key of Object.keys(tx)) if (!TX_KEYS.has(key)) throw malformed(`unknown field ${key}`, key);
  if (typeof tx.chainId !== 'string' || !CHAIN_ID_PATTERN.test(tx.chainId))
    throw malformed('chainId', 'chainId');
  if (typeof tx.type !== 'string' || !TYPE_PATTERN.test(tx.type)) {
    throw malformed('type must look like module.action', 'type');
  }
  if (typeof tx.payload !== 'object' || tx.payload === null || Array.isArray(tx.payload)) {
    throw malformed('payload must be an object', 'payload');
  }
  const problem = canonicalSafetyProblem(tx.payload);
  if (problem) throw malformed(`payload: ${problem}`, 'payload');
  if (!isValidPublicKey(tx.signer))
    throw malformed('signer must be a valid Ed25519 public key (hex)', 'signer');
  if (typeof tx.nonce !== 'string' || !NONCE_PATTERN.test(tx.nonce)) throw malformed('nonce', 'nonce');
  if (typeof tx.expiresAt !== 'number' || !Number.isSafeInteger(tx.expiresAt) || tx.expiresAt < 0) {
    throw malformed('expiresAt must be ms since the epoch', 'expiresAt');
  }
  if (typeof tx.signature !== 'string' || !/^[0-9a-f]{128}$/.test(tx.signature)) {
    throw malformed('signature must be 64 bytes of lowercase hex', 'signature');
  }
  const decoded = tx as unknown as Transaction;
  const body = canonicalBytes(bodyOf(decoded));
  const bytes = body.length + SIGNATURE_FIELD_BYTES;
  if (bytes > MAX_TX_BYTES)
    throw new TillidError('TX_TOO_LARGE', `a transaction is at most ${MAX_TX_BYTES} bytes`);
  return { tx: decoded, hash: sha256Hex(body), bytes };
}

export const transactionSignatureValid = (tx: Transaction, hash: Hex = transactionHash(tx)): boolean =>
  verifySignature(tx.signer, signingMessage('tx', hash), tx.signature);

/** Signs with noble, as a client or support system would. */
export function signTransaction(body: TransactionBody, privateKey: Hex): Transaction {
  return {
    ...bodyOf(body as Transaction),
    signature: signWithNoble(signingMessage('tx', transactionHash(body)), privateKey),
  };
}

/** Signs with a held key (node:crypto `Signer`, or any key store with `sign`); for tools that sign many. */
export function signTransactionWith(body: TransactionBody, signer: Pick<Signer, 'sign'>): Transaction {
  return {
    ...bodyOf(body as Transaction),
    signature: signer.sign(signingMessage('tx', transactionHash(body))),
  };
}
