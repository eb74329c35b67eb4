/**
 * Blocks and commit certificates.
 *
 * A block is final when it carries a commit certificate: signatures over (chain, height, round,
 * block hash) from more than two thirds of the authorities. With a single authority that is its
 * own signature; the consortium consensus fills the same structure with many. Anyone holding the
 * genesis can check a certificate offline.
 */
import { canonicalHash, type Hex } from './hash.ts';
import { signingMessage, verifySignature } from './signature.ts';
import type { Transaction } from './transaction.ts';

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  /** Hash of the previous block's header; the genesis hash for height 1. */
  readonly parentHash: Hex;
  /** Merkle root of the transaction hashes, in block order. */
  readonly txRoot: Hex;
  /** Application hash after executing this block (see state/machine.ts). */
  readonly stateRoot: Hex;
  /** Public key of the authority that proposed the block. */
  readonly proposer: Hex;
  /** ms since the epoch; strictly greater than the parent's. The only clock the state machine sees. */
  readonly timestamp: number;
}

export interface CommitSignature {
  readonly authority: Hex;
  readonly signature: Hex;
}

export interface CommitCertificate {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hex;
  /** Sorted by authority key, one per authority. */
  readonly signatures: readonly CommitSignature[];
}

export interface Block {
  readonly header: BlockHeader;
  readonly transactions: readonly Transaction[];
  readonly certificate: CommitCertificate | null;
}

export const blockHash = (header: BlockHeader): Hex => canonicalHash(header);

/** What an authority signs to commit a block. */
export const commitDigest = (chainId: string, height: number, round: number, hash: Hex): Hex =>
  canonicalHash({ chainId, height, round, blockHash: hash });

/** The smallest number of distinct authority signatures that is more than two thirds of `n`. */
export const quorum = (n: number): number => Math.floor((2 * n) / 3) + 1;

/**
 * Returns why `certificate` does not finalize `header` under `authorities`, or `undefined` when it
 * does. Unknown signers, duplicates and bad signatures make the certificate invalid outright rather
 * than being skipped, so a certificate has one meaning.
 */
export function certificateProblem(
  certificate: CommitCertificate | null,
  header: BlockHeader,
  authorities: readonly Hex[],
): string | undefined {
  if (!certificate) return 'no commit certificate';
  const hash = blockHash(header);
  if (certificate.height !== header.height) return 'certificate is for another height';
  if (certificate.blockHash !== hash) return 'certificate is for another block';
  if (!Number.isSafeInteger(certificate.round) || certificate.round < 0) return 'certificate round';
  const members = new Set(authorities);
  const message = signingMessage(
    'commit',
    commitDigest(header.chainId, header.height, certificate.round, hash),
  );
  let previous = '';
  for (const { authority, signature } of certificate.signatures) {
    if (authority <= previous) return 'certificate signatures not sorted by authority or repeated';
    previous = authority;
    if (!members.has(authority)) return `certificate signed by non-authority ${authority.slice(0, 16)}`;
    if (!verifySignature(authority, message, signature))
      return `bad certificate signature from ${authority.slice(0, 16)}`;
  }
  if (certificate.signatures.length < quorum(authorities.length)) {
    return `certificate has ${certificate.signatures.length} of the ${quorum(authorities.length)} signatures needed`;
  }
  return undefined;
}

const isHash = (v: unknown): v is Hex => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isHeight = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks that `input` has the shape of a block (as read from a peer or a store) and returns it
 * typed. Throws a TypeError naming the first problem.
 */
export function decodeBlock(input: unknown): Block {
  if (typeof input !== 'object' || input === null) throw new TypeError('block is not an object');
  const { header, transactions, certificate } = input as Record<string, unknown>;
  const h = header as Record<string, unknown> | undefined;
  if (!h || typeof h !== 'object') throw new TypeError('block has no header');
  if (typeof h.chainId !== 'string') throw new TypeError('header.chainId');
  if (!isHeight(h.height)) throw new TypeError('header.height');
  for (const f of ['parentHash', 'txRoot', 'stateRoot'] as const)
    if (!isHash(h[f])) throw new TypeError(`header.${f}`);
  if (typeof h.proposer !== 'string' || !/^[0-9a-f]{64}$/.test(h.proposer))
    throw new TypeError('header.proposer');
  if (!isHeight(h.timestamp)) throw new TypeError('header.timestamp');
  if (Object.keys(h).length !== 7) throw new TypeError('header has unknown fields');
  if (!Array.isArray(transactions)) throw new TypeError('transactions is not an array');
  if (certificate !== null) {
    const c = certificate as Record<string, unknown> | undefined;
    if (!c || typeof c !== 'object' || !isHeight(c.height) || !isHeight(c.round) || !isHash(c.blockHash)) {
      throw new TypeError('certificate');
    }
    if (!Array.isArray(c.signatures)) throw new TypeError('certificate.signatures');
    for (const s of c.signatures as Record<string, unknown>[]) {
      if (typeof s?.authority !== 'string' || typeof s.signature !== 'string')
        throw new TypeError('certificate signature');
    }
  }
  return input as Block;
}

const exactly = (value: unknown, fields: readonly string[]): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.keys(value).length === fields.length &&
  fields.every((f) => f in value);

/**
 * Why a stored block is not exactly a block — a field beyond the header, transactions and
 * certificate, or beyond a certificate's — or `undefined`. `decodeBlock` tolerates extra fields
 * from peers and APIs; an auditor's replay does not, since nothing the chain signs covers them.
 */
export function extraFieldsProblem(input: unknown): string | undefined {
  if (!exactly(input, ['header', 'transactions', 'certificate'])) return 'the block has unknown fields';
  const { certificate } = input as Block;
  if (certificate === null) return undefined;
  if (!exactly(certificate, ['height', 'round', 'blockHash', 'signatures']))
    return 'the certificate has unknown fields';
  for (const s of certificate.signatures)
    if (!exactly(s, ['authority', 'signature'])) return 'a certificate signature has unknown fields';
  return undefined;
}
