/**
 * Motions: a proposed action on a contract (activate, amend, suspend, resume, terminate), the
 * approvals it collects under its template's policy, and its execution in the transaction whose
 * approval satisfies the policy. Also the co-signature digest of the pilot's offline multisignature.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { StateReader, StateWriter, TxContext } from '../module.ts';
import type { Acting } from '../party/acting.ts';
import { catchUp, endContract } from './agenda.ts';
import { parseDate } from './calendar.ts';
import { type ApprovalPolicy, evaluate, type Party, type Role } from './policy.ts';
import {
  type ContractRecord,
  type ContractStatus,
  contractKey,
  currentTerms,
  hasEnded,
  invalid,
  type Motion,
  type MotionAction,
  motionKey,
  read,
  requireContract,
  type Template,
  type TermsVersion,
  templateKey,
  write,
  wrongState,
} from './records.ts';
import type { LineItem, Terms } from './terms.ts';
import { record } from './timeline.ts';

/** Does the policy have a leaf this (party, role) can fill? */
export function policyUses(policy: ApprovalPolicy, party: Party, role: Role): boolean {
  if ('signers' in policy) return policy.party === party && policy.role === role;
  const parts = 'all' in policy ? policy.all : 'any' in policy ? policy.any : policy.of;
  return parts.some((p) => policyUses(p, party, role));
}

export function onContract(c: ContractRecord, acting: Acting): void {
  const side = acting.party === 'municipality' ? c.municipality : c.provider;
  if (acting.cvr !== side)
    throw new TillidError('PARTY_NOT_ON_CONTRACT', `CVR ${acting.cvr} is not a party to contract ${c.id}`);
}

export function checkMotionAllowed(
  state: StateReader,
  c: ContractRecord,
  action: MotionAction,
  changes?: JsonObject,
): void {
  const ended = c.status === 'terminated' || c.status === 'expired';
  if (ended) throw wrongState(`contract ${c.id} is ${c.status}; it cannot be changed`);
  const expected: Record<MotionAction, readonly ContractStatus[]> = {
    activate: ['draft'],
    amend: ['draft', 'active', 'suspended'],
    suspend: ['active'],
    resume: ['suspended'],
    terminate: ['draft', 'active', 'suspended'],
  };
  if (!expected[action].includes(c.status))
    throw wrongState(`cannot ${action} a contract that is ${c.status}`);
  if ((action === 'activate' || action === 'resume') && c.parent) {
    const parent = requireContract(state, c.parent);
    // A paused parent holds its dependants; an ended one no longer does: a child suspended when its
    // parent ended may be resumed and then runs on its own (README, "Dependants of an ended parent").
    if (parent.status !== 'active' && !(action === 'resume' && hasEnded(parent)))
      throw wrongState(`the parent contract is ${parent.status}`);
  }
  if (
    action === 'amend' &&
    changes?.months !== undefined &&
    changes.months !== null &&
    (changes.months as number) < c.decided
  )
    throw wrongState(`months cannot end before period ${c.decided}, which is decided already`);
  // Checked at proposal too: a motion that could never execute must not be left open.
  if (action === 'amend' && Array.isArray(changes?.items)) {
    const start = parseDate(c.start) as number;
    for (const item of changes.items as unknown as LineItem[])
      if (item.until !== undefined && (parseDate(item.until) as number) <= start)
        throw invalid(`changes.items: ${item.code}.until must be after the start date`);
  }
}

function execute(state: StateWriter, ctx: TxContext, motion: Motion, today: number): void {
  let c = requireContract(state, motion.contract);
  checkMotionAllowed(state, c, motion.action, motion.changes);
  const by = {
    motion: motion.id,
    approvals: motion.approvals.map(({ cvr, role, actor }) => ({ cvr, role, actor })),
  };
  if (motion.document)
    c = {
      ...c,
      documents: [...c.documents, { docType: motion.action, document: motion.document, height: ctx.height }],
    };
  switch (motion.action) {
    case 'activate':
      c = record(state, ctx, { ...c, status: 'active' }, 'contract.activated', by, today);
      write(state, contractKey(c.id), c);
      catchUp(state, ctx, c.id, today);
      return;
    case 'resume':
      c = record(state, ctx, { ...c, status: 'active' }, 'contract.resumed', by, today);
      write(state, contractKey(c.id), c);
      return;
    case 'suspend':
      c = record(state, ctx, { ...c, status: 'suspended' }, 'contract.suspended', by, today);
      write(state, contractKey(c.id), c);
      return;
    case 'terminate':
      endContract(state, ctx, c, 'terminated', today, {
        ...by,
        ...(motion.reason ? { reason: motion.reason } : {}),
      });
      return;
    case 'amend': {
      const changes = motion.changes as JsonObject;
      const old = currentTerms(c);
      const terms: Terms = {
        items: (changes.items as unknown as LineItem[] | undefined) ?? old.items,
        months: changes.months === undefined ? old.months : (changes.months as number | null),
        reportEveryMonths: (changes.reportEveryMonths as number | undefined) ?? old.reportEveryMonths,
      };
      const version: TermsVersion = {
        terms,
        fromPeriod: c.decided + 1,
        height: ctx.height,
        motion: motion.id,
      };
      // An item extended past its old `until` is paid again from the next period.
      const lapsed = c.lapsed.filter(
        (code) =>
          !terms.items.some(
            (i) => i.code === code && i.until !== old.items.find((o) => o.code === code)?.until,
          ),
      );
      c = record(
        state,
        ctx,
        { ...c, versions: [...c.versions, version], lapsed },
        'contract.amended',
        { ...by, fromPeriod: version.fromPeriod },
        today,
      );
      write(state, contractKey(c.id), c);
      // A contract already running past its new last month expires now.
      if (c.status !== 'draft') catchUp(state, ctx, c.id, today);
      return;
    }
  }
}

/**
 * Records approvals of a motion — the proposer's, co-signers', or one approver's — and executes the
 * motion in this transaction if they satisfy its policy. The proposer may be outside the policy
 * (a caseworker proposing what a director decides); anyone else must fit it.
 */
export function addApprovals(
  state: StateWriter,
  ctx: TxContext,
  motion: Motion,
  actings: readonly { readonly acting: Acting; readonly proposer: boolean }[],
  today: number,
): void {
  let c = requireContract(state, motion.contract);
  const template = read<Template>(state, templateKey(c.template)) as Template;
  const policy = template.policies[motion.action];
  let approvals = motion.approvals;
  for (const { acting, proposer } of actings) {
    const counts = policyUses(policy, acting.party, acting.role);
    if (!counts && !proposer)
      throw new TillidError(
        'APPROVAL_NOT_ALLOWED',
        `${acting.party} ${acting.role} is not part of the ${motion.action} policy`,
      );
    if (approvals.some((a) => a.actor === acting.actor))
      throw new TillidError('APPROVAL_EXISTS', 'this actor has approved the motion already');
    if (!counts) continue;
    approvals = [
      ...approvals,
      { actor: acting.actor, party: acting.party, role: acting.role, cvr: acting.cvr, height: ctx.height },
    ];
    c = record(
      state,
      ctx,
      c,
      'contract.approved',
      { motion: motion.id, action: motion.action, cvr: acting.cvr, role: acting.role, actor: acting.actor },
      today,
    );
  }
  write(state, contractKey(c.id), c);
  if (evaluate(policy, approvals).satisfied) {
    const executed: Motion = { ...motion, approvals, status: 'executed', executedAt: ctx.height };
    write(state, motionKey(motion.id), executed);
    execute(state, ctx, executed, today);
    return;
  }
  write(state, motionKey(motion.id), { ...motion, approvals });
}

// What co-signers sign is the protocol's (clients compute it too): node/protocol/cosign.ts.
export { cosignDigest } from '../../protocol/cosign.ts';
