/**
 * `contract.propose`: a party on the contract proposes a motion (activate, amend, suspend, resume,
 * terminate); the proposer's approval counts, and co-signatures made offline count as approvals in
 * the same transaction. The motion id is the transaction hash.
 */

import type { JsonObject } from '../../../protocol/canonical.ts';
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { isValidPublicKey, signingMessage, verifySignature } from '../../../protocol/signature.ts';
import { resolveActing } from '../../party/acting.ts';
import { formatDate } from '../calendar.ts';
import { addApprovals, checkMotionAllowed, cosignDigest, onContract } from '../motions.ts';
import { checkItemRules } from '../payload.ts';
import {
  contractKey,
  invalid,
  type Motion,
  type MotionAction,
  motionKey,
  read,
  requireContract,
  type Template,
  templateKey,
  write,
} from '../records.ts';
import { record } from '../timeline.ts';
import type { ContractAction } from './action.ts';

export const propose: ContractAction = {
  check(p) {
    // Shape and limits are the schema's; a well-formed key must also be a point on the curve.
    for (const [i, cs] of ((p.cosignatures as JsonObject[] | undefined) ?? []).entries())
      if (!isValidPublicKey(cs.publicKey))
        throw invalid(`cosignatures[${i}].publicKey must be an Ed25519 key`, `cosignatures[${i}]`);
    if (p.action === 'amend') {
      if (p.changes === undefined) throw invalid('changes must be an object', 'changes');
      const items = (p.changes as JsonObject).items as JsonObject[] | undefined;
      if (items !== undefined) checkItemRules(items, undefined, 'changes.items');
    } else if (p.changes !== undefined) throw invalid('changes belong to an amend motion only', 'changes');
  },
  apply(state, tx, ctx, { acting, today }) {
    const p = tx.payload;
    const c = requireContract(state, p.contract as Hex);
    onContract(c, acting);
    const motionAction = p.action as MotionAction;
    checkMotionAllowed(state, c, motionAction, p.changes as JsonObject | undefined);
    const template = read<Template>(state, templateKey(c.template)) as Template;
    const motion: Motion = {
      id: ctx.txHash,
      contract: c.id,
      action: motionAction,
      ...(p.changes ? { changes: p.changes as JsonObject } : {}),
      ...(p.reason ? { reason: p.reason as string } : {}),
      ...(p.document ? { document: p.document as Hex } : {}),
      proposer: { cvr: acting.cvr, role: acting.role, actor: acting.actor },
      proposedAt: ctx.height,
      expiresOn: formatDate(today + template.approvalLifetimeDays),
      approvals: [],
      status: 'open',
    };
    const c2 = record(
      state,
      ctx,
      c,
      'contract.proposed',
      {
        motion: motion.id,
        action: motionAction,
        cvr: acting.cvr,
        role: acting.role,
        actor: acting.actor,
      },
      today,
    );
    write(state, contractKey(c.id), c2);
    write(state, motionKey(motion.id), motion);
    const digest = cosignDigest(ctx.chainId, p, tx.nonce, tx.expiresAt);
    // The one signature rule, as for transactions; deterministic on every node. A node remembers
    // verdicts by (transaction, index), so a co-signature is verified once, not per execution.
    const cosignatureValid =
      ctx.cosignatureValid ??
      ((_i: number, key: Hex, message: Uint8Array, signature: string) =>
        verifySignature(key, message, signature));
    const cosigners = ((p.cosignatures as JsonObject[] | undefined) ?? []).map((cs, i) => {
      const cosigner = resolveActing(state, cs.publicKey as Hex, cs.as as JsonObject);
      onContract(c, cosigner);
      if (!cosignatureValid(i, cs.publicKey as Hex, signingMessage('cosign', digest), cs.signature as string))
        throw new TillidError('COSIGNATURE_INVALID', `cosignatures[${i}] does not verify for this motion`);
      return { acting: cosigner, proposer: false };
    });
    addApprovals(state, ctx, motion, [{ acting, proposer: true }, ...cosigners], today);
  },
};
