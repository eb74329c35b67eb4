/**
 * The two Tendermint messages, how they are signed, and how one read from the network is checked.
 *
 * Signing rules (the domain tags come from protocol/signature.ts):
 *  - a proposal signs `proposal` over the hash of {chainId, height, round, blockHash, validRound}:
 *    the block hash stands for the block, so the signature does not grow with the block;
 *  - a precommit for a block signs exactly what a commit certificate holds,
 *    `commit` over commitDigest(chainId, height, round, blockHash), so 2f+1 precommits ARE a
 *    certificate and nothing has to be signed twice;
 *  - prevotes and nil precommits sign `vote` over the hash of {chainId, type, height, round,
 *    blockHash}. The type is inside the hash, so a prevote can never pass for a precommit.
 * Decoders return a typed verdict and never throw: these objects come from peers.
 */
import {
  type Block,
  blockHash,
  type CommitCertificate,
  commitDigest,
  decodeBlock,
} from '../../protocol/block.ts';
import { canonicalHash, type Hex } from '../../protocol/hash.ts';
import { type Signer, signingMessage, verifySignature } from '../../protocol/signature.ts';

export interface Proposal {
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  /** The proposed block, without a certificate. */
  readonly block: Block;
  /** The round in which the proposer saw a 2f+1 prevote polka for this block, or -1. */
  readonly validRound: number;
  readonly proposer: Hex;
  readonly signature: Hex;
}

export type VoteType = 'prevote' | 'precommit';

export interface Vote {
  readonly chainId: string;
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  /** Hash of the block voted for; null is a vote for nothing ("nil"). */
  readonly blockHash: Hex | null;
  readonly authority: Hex;
  readonly signature: Hex;
}

export type ConsensusMessage =
  | { readonly kind: 'proposal'; readonly proposal: Proposal }
  | { readonly kind: 'vote'; readonly vote: Vote };

/** Checks `publicKey` signed `message`. The engine may pass a memoising wrapper of verifySignature. */
export type SignatureCheck = (publicKey: Hex, message: Uint8Array, signature: Hex) => boolean;

// ---------------------------------------------------------------------------------------------
// Signing

export const proposalSigningMessage = (
  p: Omit<Proposal, 'signature' | 'proposer' | 'block'> & { blockHash: Hex },
) =>
  signingMessage(
    'proposal',
    canonicalHash({
      chainId: p.chainId,
      height: p.height,
      round: p.round,
      blockHash: p.blockHash,
      validRound: p.validRound,
    }),
  );

export function voteSigningMessage(v: Omit<Vote, 'signature' | 'authority'>): Uint8Array {
  if (v.type === 'precommit' && v.blockHash !== null) {
    return signingMessage('commit', commitDigest(v.chainId, v.height, v.round, v.blockHash));
  }
  return signingMessage(
    'vote',
    canonicalHash({
      chainId: v.chainId,
      type: v.type,
      height: v.height,
      round: v.round,
      blockHash: v.blockHash,
    }),
  );
}

export function signProposal(
  body: { chainId: string; height: number; round: number; block: Block; validRound: number },
  signer: Signer,
): Proposal {
  const message = proposalSigningMessage({ ...body, blockHash: blockHash(body.block.header) });
  return { ...body, proposer: signer.publicKey, signature: signer.sign(message) };
}

export function signVote(body: Omit<Vote, 'signature' | 'authority'>, signer: Signer): Vote {
  const { chainId, type, height, round, blockHash: hash } = body;
  const unsigned = { chainId, type, height, round, blockHash: hash };
  return { ...unsigned, authority: signer.publicKey, signature: signer.sign(voteSigningMessage(unsigned)) };
}

export const proposalSignatureValid = (
  p: Proposal,
  hash: Hex = blockHash(p.block.header),
  check: SignatureCheck = verifySignature,
): boolean => check(p.proposer, proposalSigningMessage({ ...p, blockHash: hash }), p.signature);

export const voteSignatureValid = (v: Vote, check: SignatureCheck = verifySignature): boolean =>
  check(v.authority, voteSigningMessage(v), v.signature);

/**
 * Turns 2f+1 precommits for one block into the block's commit certificate. The precommit
 * signatures are already over commitDigest, so they are copied, sorted by authority as
 * certificateProblem requires.
 */
export function certificateFromPrecommits(precommits: readonly Vote[]): CommitCertificate {
  const first = precommits[0];
  if (!first || first.blockHash === null) throw new Error('a certificate needs precommits for a block');
  for (const v of precommits) {
    if (v.type !== 'precommit' || v.blockHash !== first.blockHash || v.round !== first.round)
      throw new Error('precommits for different blocks or rounds cannot form one certificate');
  }
  const signatures = precommits
    .map((v) => ({ authority: v.authority, signature: v.signature }))
    .sort((a, b) => (a.authority < b.authority ? -1 : a.authority > b.authority ? 1 : 0));
  return { height: first.height, round: first.round, blockHash: first.blockHash, signatures };
}

// ---------------------------------------------------------------------------------------------
// Decoding hostile input

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const HASH = /^[0-9a-f]{64}$/;
const SIGNATURE = /^[0-9a-f]{128}$/;
/** Rounds beyond this are not something an honest network reaches; it keeps arithmetic exact. */
export const MAX_ROUND = 1_000_000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isHeight = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const isRound = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_ROUND;
const hasExactly = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

const VOTE_KEYS = ['chainId', 'type', 'height', 'round', 'blockHash', 'authority', 'signature'] as const;

/** Checks the shape of a vote; says nothing about its signature or whether its author is an authority. */
export function decodeVote(input: unknown): Decoded<Vote> {
  if (!isObject(input)) return fail('vote is not an object');
  if (!hasExactly(input, VOTE_KEYS)) return fail('vote has missing or unknown fields');
  if (typeof input.chainId !== 'string') return fail('vote.chainId');
  if (input.type !== 'prevote' && input.type !== 'precommit') return fail('vote.type');
  if (!isHeight(input.height)) return fail('vote.height');
  if (!isRound(input.round)) return fail('vote.round');
  if (input.blockHash !== null && !(typeof input.blockHash === 'string' && HASH.test(input.blockHash)))
    return fail('vote.blockHash');
  if (typeof input.authority !== 'string' || !HASH.test(input.authority)) return fail('vote.authority');
  if (typeof input.signature !== 'string' || !SIGNATURE.test(input.signature)) return fail('vote.signature');
  return { ok: true, value: input as unknown as Vote };
}

const PROPOSAL_KEYS = ['chainId', 'height', 'round', 'block', 'validRound', 'proposer', 'signature'] as const;

/** Checks the shape of a proposal and that its block is the block it claims to propose. */
export function decodeProposal(input: unknown): Decoded<Proposal> {
  if (!isObject(input)) return fail('proposal is not an object');
  if (!hasExactly(input, PROPOSAL_KEYS)) return fail('proposal has missing or unknown fields');
  if (typeof input.chainId !== 'string') return fail('proposal.chainId');
  if (!isHeight(input.height)) return fail('proposal.height');
  if (!isRound(input.round)) return fail('proposal.round');
  const vr = input.validRound;
  if (!(Number.isSafeInteger(vr) && (vr as number) >= -1 && (vr as number) < (input.round as number)))
    return fail('proposal.validRound must be -1 or an earlier round');
  if (typeof input.proposer !== 'string' || !HASH.test(input.proposer)) return fail('proposal.proposer');
  if (typeof input.signature !== 'string' || !SIGNATURE.test(input.signature))
    return fail('proposal.signature');
  let block: Block;
  try {
    block = decodeBlock(input.block);
  } catch (e) {
    return fail(`proposal.block: ${(e as Error).message}`);
  }
  if (block.certificate !== null) return fail('a proposed block carries no certificate');
  if (block.header.height !== input.height || block.header.chainId !== input.chainId)
    return fail('proposal.block is for another height or chain');
  return { ok: true, value: input as unknown as Proposal };
}

export function decodeConsensusMessage(input: unknown): Decoded<ConsensusMessage> {
  if (!isObject(input)) return fail('message is not an object');
  if (input.kind === 'vote' && hasExactly(input, ['kind', 'vote'])) {
    const v = decodeVote(input.vote);
    return v.ok ? { ok: true, value: { kind: 'vote', vote: v.value } } : v;
  }
  if (input.kind === 'proposal' && hasExactly(input, ['kind', 'proposal'])) {
    const p = decodeProposal(input.proposal);
    return p.ok ? { ok: true, value: { kind: 'proposal', proposal: p.value } } : p;
  }
  return fail('message kind');
}

/** The authority that signed a message, and the height/round it speaks about. */
export const senderOf = (m: ConsensusMessage): Hex =>
  m.kind === 'vote' ? m.vote.authority : m.proposal.proposer;
export const heightOf = (m: ConsensusMessage): number =>
  m.kind === 'vote' ? m.vote.height : m.proposal.height;
export const roundOf = (m: ConsensusMessage): number => (m.kind === 'vote' ? m.vote.round : m.proposal.round);
