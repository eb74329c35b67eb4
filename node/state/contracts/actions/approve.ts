/**
 * `contract.approve`: a party on the contract approves an open motion in a (party, role) its policy uses; the motion executes in the transaction whose approval satisfies the policy.
 */
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { parseDate } from '../calendar.ts';
import { addApprovals, onContract } from '../motions.ts';
import { fields, hash } from '../payload.ts';
import { type Motion, motionKey, read, requireContract, wrongState } from '../records.ts';
import type { ContractAction } from './action.ts';

const WHERE = 'contract.approve';

export const approve: ContractAction = {
  check(p) {
    fields(p, ['as', 'motion'], WHERE);
    hash(p.motion, 'motion');
  },
  apply(state, tx, ctx, { acting, today }) {
    const p = tx.payload;
    const motion = read<Motion>(state, motionKey(p.motion as Hex));
    if (!motion) throw new TillidError('MOTION_NOT_FOUND', `no motion ${p.motion as string}`);
    if (motion.status !== 'open') throw wrongState('the motion has been executed already');
    if (today > (parseDate(motion.expiresOn) as number))
      throw new TillidError(
        'APPROVAL_EXPIRED',
        `the motion expired on ${motion.expiresOn}; propose it again`,
      );
    onContract(requireContract(state, motion.contract), acting);
    addApprovals(state, ctx, motion, [{ acting, proposer: false }], today);
  },
};
