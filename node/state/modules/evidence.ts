/**
 * `evidence`: puts an authority's equivocation on the chain. Two messages it signed for the same
 * height, round and step that disagree are proof anyone can check offline: the transaction carries
 * both signed statements, and every node re-verifies them. A proposal is carried without its block
 * (its signature covers the block hash, not the block), so evidence stays small.
 *
 *   evidence.equivocation { first: Statement, second: Statement }
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { verifySignature } from '../../protocol/signature.ts';
import { proposalSigningMessage, type Vote, voteSignatureValid } from '../../protocol/votes.ts';
import type { Action, Module } from '../module.ts';
import { authoritiesAt } from './governance.ts';

/** A signed proposal without its block. */
export interface ProposalStatement {
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly blockHash: Hex;
  readonly validRound: number;
  readonly proposer: Hex;
  readonly signature: Hex;
}

export type Statement =
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'proposal'; readonly proposal: ProposalStatement };

export interface EquivocationRecord {
  readonly authority: Hex;
  readonly height: number;
  readonly round: number;
  readonly step: 'proposal' | 'prevote' | 'precommit';
  readonly reportedBy: Hex;
  readonly recordedAt: number;
  readonly txHash: Hex;
}

export const EVIDENCE_INDEX = 'evidence/index';
const evidenceKey = (r: Pick<EquivocationRecord, 'authority' | 'height' | 'round' | 'step'>) =>
  `evidence/${r.authority}/${r.height}/${r.round}/${r.step}`;

const invalid = (message: string) =>
  new TillidError('TX_PAYLOAD_INVALID', `evidence.equivocation: ${message}`);
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;

/** Checks a statement's shape and signature; returns who signed what where. */
function readStatement(
  input: unknown,
  chainId: string,
): { signer: Hex; height: number; round: number; step: EquivocationRecord['step']; value: string } {
  const s = input as Record<string, Record<string, unknown>> | null;
  if (!s || typeof s !== 'object') throw invalid('a statement is an object');
  if (s.kind === ('vote' as never) && s.vote && typeof s.vote === 'object') {
    const v = s.vote;
    if (
      v.chainId !== chainId ||
      (v.type !== 'prevote' && v.type !== 'precommit') ||
      !isCount(v.height, 1) ||
      !isCount(v.round, 0)
    )
      throw invalid('malformed vote');
    if (!(v.blockHash === null || (typeof v.blockHash === 'string' && HEX64.test(v.blockHash))))
      throw invalid('vote.blockHash');
    if (
      typeof v.authority !== 'string' ||
      !HEX64.test(v.authority) ||
      typeof v.signature !== 'string' ||
      !HEX128.test(v.signature)
    )
      throw invalid('vote signer or signature');
    if (!voteSignatureValid(v as unknown as Vote)) throw invalid('a vote signature does not verify');
    return {
      signer: v.authority,
      height: v.height as number,
      round: v.round as number,
      step: v.type,
      value: String(v.blockHash),
    };
  }
  if (s.kind === ('proposal' as never) && s.proposal && typeof s.proposal === 'object') {
    const p = s.proposal;
    if (p.chainId !== chainId || !isCount(p.height, 1) || !isCount(p.round, 0) || !isCount(p.validRound, -1))
      throw invalid('malformed proposal');
    if (typeof p.blockHash !== 'string' || !HEX64.test(p.blockHash)) throw invalid('proposal.blockHash');
    if (
      typeof p.proposer !== 'string' ||
      !HEX64.test(p.proposer) ||
      typeof p.signature !== 'string' ||
      !HEX128.test(p.signature)
    )
      throw invalid('proposal signer or signature');
    const message = proposalSigningMessage(p as unknown as ProposalStatement);
    if (!verifySignature(p.proposer, message, p.signature))
      throw invalid('a proposal signature does not verify');
    return {
      signer: p.proposer,
      height: p.height as number,
      round: p.round as number,
      step: 'proposal',
      value: `${p.blockHash}/${p.validRound}`,
    };
  }
  throw invalid("a statement is { kind: 'vote', vote } or { kind: 'proposal', proposal }");
}

export function evidenceModule(genesis: Genesis): Module {
  const conflict = (payload: JsonObject) => {
    for (const k of Object.keys(payload))
      if (k !== 'first' && k !== 'second') throw invalid(`unknown field ${k}`);
    const a = readStatement(payload.first, genesis.chainId);
    const b = readStatement(payload.second, genesis.chainId);
    if (a.signer !== b.signer || a.height !== b.height || a.round !== b.round || a.step !== b.step) {
      throw invalid('the statements are not from one authority for one height, round and step');
    }
    if (a.value === b.value) throw invalid('the statements agree: that is not equivocation');
    return a;
  };
  const equivocation: Action = {
    check(payload) {
      conflict(payload);
    },
    apply(state, tx, ctx) {
      const e = conflict(tx.payload);
      if (!authoritiesAt(state, genesis, ctx.height).some((a) => a.publicKey === tx.signer)) {
        throw new TillidError('GOVERNANCE_REFUSED', 'only an authority may report evidence');
      }
      if (!authoritiesAt(state, genesis, e.height).some((a) => a.publicKey === e.signer)) {
        throw new TillidError('TX_PAYLOAD_INVALID', 'the signer was not an authority at that height');
      }
      const record: EquivocationRecord = {
        authority: e.signer,
        height: e.height,
        round: e.round,
        step: e.step,
        reportedBy: tx.signer,
        recordedAt: ctx.height,
        txHash: ctx.txHash,
      };
      const key = evidenceKey(record);
      if (state.get(key) !== undefined)
        throw new TillidError('EVIDENCE_EXISTS', 'this equivocation is already on the chain');
      state.set(key, record as unknown as Json);
      state.set(EVIDENCE_INDEX, [...((state.get(EVIDENCE_INDEX) as string[] | undefined) ?? []), key]);
    },
  };
  return { name: 'evidence', actions: { equivocation }, queries: { equivocations } };
}

/** All recorded equivocations, oldest first. */
export function equivocations(state: { get(key: string): Json | undefined }): EquivocationRecord[] {
  const keys = (state.get(EVIDENCE_INDEX) as string[] | undefined) ?? [];
  return keys.map((k) => state.get(k) as unknown as EquivocationRecord);
}
