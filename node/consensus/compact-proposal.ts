/**
 * A proposal as it travels (protocol 2): the block's header and its transactions named by hash,
 * in block order, with the proposer's signature — the same signature as on the full proposal,
 * since it covers the block hash, and the block hash is the header's. Every authority already
 * holds nearly all of a block's transactions from transaction gossip, so sending them again in
 * the proposal cost each node as many bytes (and as much JSON work) as the transactions
 * themselves. A node turns a compact proposal back into the full one (proposal-assembly.ts)
 * before the engine judges it; the engine, the block hash and the stored block do not change.
 *
 * Decoders return a typed verdict and never throw: these objects come from peers.
 */
import { type Block, type BlockHeader, blockHash, decodeBlock } from '../protocol/block.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Transaction } from '../protocol/transaction.ts';
import { transactionHash } from '../protocol/transaction.ts';
import {
  type Decoded,
  MAX_ROUND,
  type Proposal,
  proposalSigningMessage,
  type SignatureCheck,
} from './tendermint/messages.ts';

export interface CompactProposal {
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly header: BlockHeader;
  /** The block's transactions by hash (transactionHash), in block order. */
  readonly txHashes: readonly Hex[];
  readonly validRound: number;
  readonly proposer: Hex;
  readonly signature: Hex;
}

const HASH = /^[0-9a-f]{64}$/;
const SIGNATURE = /^[0-9a-f]{128}$/;
const KEYS = ['chainId', 'height', 'round', 'header', 'txHashes', 'validRound', 'proposer', 'signature'];

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** The wire form of a full proposal. */
export function compactProposal(p: Proposal): CompactProposal {
  return {
    chainId: p.chainId,
    height: p.height,
    round: p.round,
    header: p.block.header,
    txHashes: p.block.transactions.map((tx) => transactionHash(tx)),
    validRound: p.validRound,
    proposer: p.proposer,
    signature: p.signature,
  };
}

/**
 * Checks the shape of a compact proposal: a header for its height and chain, and at most
 * `maxTransactions` distinct transaction hashes (a block holds each transaction once and at most
 * the chain's block limit, so a longer list is not a block any honest proposer makes).
 */
export function decodeCompactProposal(input: unknown, maxTransactions: number): Decoded<CompactProposal> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('not an object');
  const o = input as Record<string, unknown>;
  if (Object.keys(o).length !== KEYS.length || !KEYS.every((k) => Object.hasOwn(o, k)))
    return fail('proposal has missing or unknown fields');
  if (typeof o.chainId !== 'string') return fail('proposal.chainId');
  if (!(Number.isSafeInteger(o.height) && (o.height as number) >= 1)) return fail('proposal.height');
  const round = o.round as number;
  if (!(Number.isSafeInteger(round) && round >= 0 && round <= MAX_ROUND)) return fail('proposal.round');
  const vr = o.validRound as number;
  if (!(Number.isSafeInteger(vr) && vr >= -1 && vr < round))
    return fail('proposal.validRound must be -1 or an earlier round');
  if (typeof o.proposer !== 'string' || !HASH.test(o.proposer)) return fail('proposal.proposer');
  if (typeof o.signature !== 'string' || !SIGNATURE.test(o.signature)) return fail('proposal.signature');
  try {
    decodeBlock({ header: o.header, transactions: [], certificate: null });
  } catch (e) {
    return fail(`proposal.header: ${(e as Error).message}`);
  }
  const header = o.header as BlockHeader;
  if (header.height !== o.height || header.chainId !== o.chainId)
    return fail('proposal.header is for another height or chain');
  const hashes = o.txHashes;
  if (!Array.isArray(hashes)) return fail('proposal.txHashes');
  if (hashes.length > maxTransactions) return fail('more transactions than a block may hold');
  if (!hashes.every((h) => typeof h === 'string' && HASH.test(h))) return fail('proposal.txHashes');
  if (new Set(hashes).size !== hashes.length) return fail('a transaction named twice');
  return { ok: true, value: o as unknown as CompactProposal };
}

/** The proposer's signature, over the same bytes as the full proposal's. */
export const compactSignatureValid = (p: CompactProposal, check: SignatureCheck): boolean =>
  check(p.proposer, proposalSigningMessage({ ...p, blockHash: blockHash(p.header) }), p.signature);

/**
 * The full proposal, given each named transaction (in `txHashes` order); the caller has checked
 * that each one hashes to its name.
 */
export function fullProposal(p: CompactProposal, transactions: readonly Transaction[]): Proposal {
  const block: Block = { header: p.header, transactions, certificate: null };
  return {
    chainId: p.chainId,
    height: p.height,
    round: p.round,
    block,
    validRound: p.validRound,
    proposer: p.proposer,
    signature: p.signature,
  };
}
