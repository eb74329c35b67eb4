/**
 * `contract.approve`: a party on the contract approves an open motion in a (party, role) its policy
 * uses; the motion executes in the transaction whose approval satisfies the policy.
 */
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { parseDate } from '../calendar.ts';
import { addApprovals, onContract } from '../motions.ts';
import {
  type ContractRecord,
  contractKey,
  type Motion,
  motionKey,
  read,
  requireContract,
  wrongState,
} from '../records.ts';
import type { ContractAction } from './action.ts';

export const approve: ContractAction = {
  check() {},
  /**
   * On admission (the module has already resolved `as` against the signer: an unknown key, or a
   * key that may not act in the claimed role, is refused with the block's code): a known motion's
   * contract must have the acting party on it. A motion not yet committed may still be pending, so
   * its absence is left to the block.
   */
  admit(state, tx, acting) {
    const motion = read<Motion>(state, motionKey(tx.payload.motion as Hex));
    if (!motion) return;
    if (motion.status !== 'open') throw wrongState('the motion has been executed already');
    // The block checks the motion's expiry before the party (admission has no business day), so an
    // approval of an expired motion by a party not on its contract is refused here with
    // PARTY_NOT_ON_CONTRACT and would be with APPROVAL_EXPIRED in a block: refused either way.
    const contract = read<ContractRecord>(state, contractKey(motion.contract));
    if (contract) onContract(contract, acting);
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
