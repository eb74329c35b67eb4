/**
 * `governance`: the consortium admits and removes member authorities by vote, with no restart.
 *
 *   governance.propose { action: 'add' | 'remove', name, cvr, publicKey, address? }
 *   governance.vote    { proposal: <id = the propose transaction's hash> }
 *   governance.rotate  { publicKey, proof }  — an authority replaces its own key (governance-rotation.ts)
 *
 * Only current authorities may propose or vote; a proposal counts the proposer's vote. Once more
 * than two thirds of the authorities at that height have voted for it, the change is scheduled to
 * take effect MEMBERSHIP_DELAY blocks later, so every node knows a height's authority set before it
 * starts that height. The schedule is state, so the set at every height is derivable from the chain.
 * Proposals left without a quorum expire after PROPOSAL_LIFETIME blocks.
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Authority, Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import { governanceSchemas } from '../../schemas/governance.ts';
import { payloadValidator } from '../../schemas/validate.ts';
import { emit } from '../events.ts';
import type { Action, Module, StateReader, StateWriter } from '../module.ts';
import { type KeyRotation, rotateAction, rotationKey } from './governance-rotation.ts';
import {
  authoritiesAt,
  authoritySchedule,
  MEMBERSHIP_DELAY,
  SCHEDULE_KEY,
  type ScheduledSet,
  scheduleChange,
} from './governance-schedule.ts';

export {
  authoritiesAt,
  authoritySchedule,
  MEMBERSHIP_DELAY,
  SCHEDULE_KEY,
  type ScheduledSet,
  scheduleChange,
};

export const PROPOSAL_LIFETIME = 10_000;

export interface MembershipProposal {
  readonly id: Hex;
  readonly action: 'add' | 'remove';
  readonly authority: Authority;
  readonly proposer: Hex;
  readonly proposedAt: number;
  readonly expiresAt: number;
  readonly votes: readonly Hex[];
  readonly status: 'open' | 'approved';
  readonly effectiveFrom?: number;
}

export const proposalKey = (id: Hex): string => `governance/proposal/${id}`;

const invalid = (message: string) => new TillidError('TX_PAYLOAD_INVALID', message);
const refused = (message: string) => new TillidError('GOVERNANCE_REFUSED', message);

export function governanceModule(genesis: Genesis): Module {
  const membersAt = (state: StateReader, height: number) =>
    authoritiesAt(state, genesis, height).map((a) => a.publicKey);
  const validPropose = payloadValidator(governanceSchemas.propose, 'governance.propose');
  const checkPropose = (payload: JsonObject) => {
    validPropose(payload);
    // Letters of any script (see node/schemas/governance.ts).
    if (!/^[\p{L}\p{N} .'-]{2,80}$/u.test(payload.name as string))
      throw invalid('governance.propose: name must be the municipality name (2-80 characters)');
    if (!isValidPublicKey(payload.publicKey))
      throw invalid('governance.propose: publicKey must be a valid Ed25519 key');
  };
  const apply =
    (action: 'propose' | 'vote'): Action['apply'] =>
    (state, tx, ctx) => {
      const members = membersAt(state, ctx.height);
      if (!members.includes(tx.signer)) throw refused('only an authority may propose or vote on membership');
      let proposal: MembershipProposal;
      if (action === 'propose') {
        const p = tx.payload;
        const authority: Authority = {
          name: p.name as string,
          cvr: p.cvr as string,
          publicKey: p.publicKey as Hex,
          ...(typeof p.address === 'string' ? { address: p.address } : {}),
        };
        const scheduled = authoritySchedule(state, genesis);
        const latest = (scheduled[scheduled.length - 1] as ScheduledSet).authorities;
        const isMember = latest.some((a) => a.publicKey === authority.publicKey);
        if (p.action === 'add' && isMember) throw refused('that key is already an authority');
        if (p.action === 'remove' && !isMember) throw refused('that key is not an authority');
        proposal = {
          id: ctx.txHash,
          action: p.action as 'add' | 'remove',
          authority,
          proposer: tx.signer,
          proposedAt: ctx.height,
          expiresAt: ctx.height + PROPOSAL_LIFETIME,
          votes: [tx.signer],
          status: 'open',
        };
      } else {
        const existing = state.get(proposalKey(tx.payload.proposal as Hex)) as unknown as
          | MembershipProposal
          | undefined;
        if (!existing) throw refused('no such proposal');
        if (existing.status !== 'open') throw refused(`the proposal is already ${existing.status}`);
        if (ctx.height > existing.expiresAt) throw refused('the proposal has expired');
        if (existing.votes.includes(tx.signer))
          throw refused('this authority has already voted for the proposal');
        proposal = { ...existing, votes: [...existing.votes, tx.signer] };
      }
      // Votes count only while their author is an authority.
      const counted = proposal.votes.filter((v) => members.includes(v)).length;
      if (counted * 3 > members.length * 2) {
        proposal = approve(state, genesis, proposal, ctx.height);
        emit(state, ctx, 'governance.membership-changed', {
          proposal: proposal.id,
          action: proposal.action,
          cvr: proposal.authority.cvr,
          publicKey: proposal.authority.publicKey,
          effectiveFrom: proposal.effectiveFrom as number,
        });
      }
      state.set(proposalKey(proposal.id), proposal as unknown as Json);
    };
  return {
    name: 'governance',
    actions: {
      propose: { check: checkPropose, apply: apply('propose') },
      vote: { check: payloadValidator(governanceSchemas.vote, 'governance.vote'), apply: apply('vote') },
      rotate: rotateAction(genesis),
    },
    queries: governanceQueries(genesis),
  };
}

/** Read queries: the authority-set schedule, a membership proposal, a key rotation. */
export const governanceQueries = (genesis: Genesis) => ({
  schedule: (state: StateReader): ScheduledSet[] => authoritySchedule(state, genesis),
  proposal: (state: StateReader, id: Hex): MembershipProposal | undefined =>
    state.get(proposalKey(id)) as unknown as MembershipProposal | undefined,
  rotation: (state: StateReader, id: Hex): KeyRotation | undefined =>
    state.get(rotationKey(id)) as unknown as KeyRotation | undefined,
});

/** Applies an approved proposal to the schedule and returns it marked approved. */
function approve(
  state: StateWriter,
  genesis: Genesis,
  proposal: MembershipProposal,
  height: number,
): MembershipProposal {
  const key = proposal.authority.publicKey;
  const effectiveFrom = scheduleChange(state, genesis, height, (latest) => {
    if (proposal.action === 'add') {
      if (latest.some((a) => a.publicKey === key)) throw refused('already an authority');
      return [...latest, proposal.authority];
    }
    if (!latest.some((a) => a.publicKey === key)) throw refused('not an authority');
    if (latest.length === 1) throw refused('the last authority cannot be removed');
    return latest.filter((a) => a.publicKey !== key);
  });
  return { ...proposal, status: 'approved', effectiveFrom };
}
