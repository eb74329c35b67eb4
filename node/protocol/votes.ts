/**
 * The signed messages of the consortium's consensus, and exactly which bytes each one signs.
 * They live in the protocol layer because more than consensus reads them: the `evidence` module
 * checks two conflicting signed messages on chain, and auditors check certificates offline.
 *
 *  - a proposal signs `proposal` over the hash of {chainId, height, round, blockHash, validRound}:
 *    the block hash stands for the block, so the signature does not grow with the block;
 *  - a precommit for a block signs exactly what a commit certificate holds,
 *    `commit` over commitDigest(chainId, height, round, blockHash), so 2f+1 precommits ARE a
 *    certificate and nothing has to be signed twice;
 *  - prevotes and nil precommits sign `vote` over the hash of {chainId, type, height, round,
 *    blockHash}. The type is inside the hash, so a prevote can never pass for a precommit.
 */
import { type Block, blockHash, type CommitCertificate, commitDigest } from './block.ts';
import { canonicalHash, type Hex } from './hash.ts';
import { type MessageSigner, signingMessage, verifySignature } from './signature.ts';

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
  signer: MessageSigner,
): Proposal {
  const message = proposalSigningMessage({ ...body, blockHash: blockHash(body.block.header) });
  return { ...body, proposer: signer.publicKey, signature: signer.sign(message) };
}

export function signVote(body: Omit<Vote, 'signature' | 'authority'>, signer: MessageSigner): Vote {
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

/** The authority that signed a message. */
export const senderOf = (m: ConsensusMessage): Hex =>
  m.kind === 'vote' ? m.vote.authority : m.proposal.proposer;
