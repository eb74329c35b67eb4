/**
 * The salted document commitment: the only thing about a document that goes on the chain.
 *
 *   commitment = SHA-256( "tillid/document/v1" || 0x00 || salt (32 bytes) || document bytes )
 *
 * hex-encoded (64 lowercase characters). The domain tag keeps a document commitment from ever
 * colliding with another hash the chain uses (transaction ids, erasure records); the random salt
 * keeps a guessable document (a standard form, a short letter) from being confirmed by hashing
 * candidates. The salt lives off chain with the document; erasing it makes the commitment
 * unlinkable to any content, which is what GDPR erasure needs from a chain that cannot forget.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const DOCUMENT_COMMITMENT_TAG = 'tillid/document/v1';
export const ERASURE_COMMITMENT_TAG = 'tillid/erasure/v1';
export const SALT_BYTES = 32;

export const newSalt = (): Buffer => randomBytes(SALT_BYTES);

function tagged(tag: string, ...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  h.update(tag, 'utf8');
  h.update(Buffer.of(0));
  for (const part of parts) h.update(part);
  return h.digest('hex');
}

export function documentCommitment(salt: Uint8Array, document: Uint8Array): string {
  if (salt.length !== SALT_BYTES) throw new RangeError(`a salt is ${SALT_BYTES} bytes`);
  return tagged(DOCUMENT_COMMITMENT_TAG, salt, document);
}

/** Constant-time comparison of two hex commitments. */
export function sameCommitment(a: string, b: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(a) || !/^[0-9a-f]{64}$/.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * The hash an erasure puts on the chain: SHA-256("tillid/erasure/v1" || 0x00 || erasure salt (32
 * bytes) || document commitment (32 bytes) || erasedAt as UTF-8 ISO-8601). Without the erasure salt,
 * which stays in the local erasure log, the on-chain record says only "something was erased then";
 * with it, the municipality can show an auditor which commitment it erased and when.
 */
export function erasureCommitment(erasureSalt: Uint8Array, commitment: string, erasedAt: string): string {
  if (erasureSalt.length !== SALT_BYTES) throw new RangeError(`a salt is ${SALT_BYTES} bytes`);
  return tagged(ERASURE_COMMITMENT_TAG, erasureSalt, Buffer.from(commitment, 'hex'), Buffer.from(erasedAt));
}
