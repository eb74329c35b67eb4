/**
 * The two Tendermint messages as they arrive from the network, and how they are checked.
 *
 * The types and their signing rules live in protocol/votes.ts and are re-exported here.
 * Decoders return a typed verdict and never throw: these objects come from peers.
 */

import { type Block, decodeBlock } from '../../protocol/block.ts';
import type { ConsensusMessage, Proposal, Vote } from '../../protocol/votes.ts';

export * from '../../protocol/votes.ts';

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
export const heightOf = (m: ConsensusMessage): number =>
  m.kind === 'vote' ? m.vote.height : m.proposal.height;
export const roundOf = (m: ConsensusMessage): number => (m.kind === 'vote' ? m.vote.round : m.proposal.round);
