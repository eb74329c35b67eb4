/**
 * `governance.rotate { publicKey, proof }`: an authority replaces its own key without leaving the
 * set. Signed by the current key (the transaction's signer) and proven by the new one (`proof`,
 * protocol/rotation.ts) — one rule, no vote:
 *
 * - The old key's signature says the seat's holder wants the change; only it may move its seat.
 * - The new key's proof of possession stops a rotation onto a key nobody holds (the seat would be
 *   lost) or onto someone else's key (borrowing a second municipality's identity on the network).
 * - No vote: the set keeps its members and its size, so the quorum the others rely on is
 *   unchanged; a vote would only delay an authority retiring a key it suspects. A thief holding
 *   the old key could move the seat to a key of its own — but holding the old key it can already
 *   sign everything the seat signs, and the remedy is the same either way: the others vote the
 *   seat's key out (`governance.propose remove`) and the municipality back in with a fresh one.
 *
 * Effective, like every change of the set, MEMBERSHIP_DELAY blocks after the block that includes
 * it (governance-schedule.ts): from then on blocks need the new key's signature and the old key's
 * votes, proposals and transactions as an authority are refused. The new key must never have been
 * an authority of this chain, so a retired (perhaps leaked) key can never come back, and a seat
 * with a rotation pending cannot rotate again until it takes effect.
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { rotationProofValid } from '../../protocol/rotation.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import { governanceSchemas } from '../../schemas/governance.ts';
import { payloadValidator } from '../../schemas/validate.ts';
import { emit } from '../events.ts';
import type { Action } from '../module.ts';
import { authoritiesAt, authoritySchedule, scheduleChange } from './governance-schedule.ts';

const refused = (message: string) => new TillidError('GOVERNANCE_REFUSED', message);

/** What a rotation leaves in state, under its transaction hash (`GET /v1/governance/rotations/:hash`). */
export interface KeyRotation {
  readonly id: Hex;
  readonly cvr: string;
  readonly from: Hex;
  readonly to: Hex;
  readonly decidedAt: number;
  readonly effectiveFrom: number;
}

export const rotationKey = (id: Hex): string => `governance/rotation/${id}`;

export function rotateAction(genesis: Genesis): Action {
  const valid = payloadValidator(governanceSchemas.rotate, 'governance.rotate');
  return {
    check: (payload: JsonObject) => {
      valid(payload);
      if (!isValidPublicKey(payload.publicKey))
        throw new TillidError(
          'TX_PAYLOAD_INVALID',
          'governance.rotate: publicKey must be a valid Ed25519 key',
        );
    },
    apply: (state, tx, ctx) => {
      const from = tx.signer;
      const to = tx.payload.publicKey as Hex;
      const seat = authoritiesAt(state, genesis, ctx.height).find((a) => a.publicKey === from);
      if (!seat) throw refused('only an authority may rotate its key');
      const schedule = authoritySchedule(state, genesis);
      if (schedule.some((entry) => entry.authorities.some((a) => a.publicKey === to)))
        throw refused('the new key is, or has been, an authority key of this chain');
      if (!rotationProofValid(ctx.chainId, from, to, tx.payload.proof as Hex))
        throw refused("the proof is not the new key's signature of this rotation");
      const effectiveFrom = scheduleChange(state, genesis, ctx.height, (latest) => {
        // A removal or another rotation of this seat is already scheduled.
        if (!latest.some((a) => a.publicKey === from))
          throw refused('this key is already leaving the set (a change is pending)');
        return latest.map((a) => (a.publicKey === from ? { ...a, publicKey: to } : a));
      });
      const rotation: KeyRotation = {
        id: ctx.txHash,
        cvr: seat.cvr,
        from,
        to,
        decidedAt: ctx.height,
        effectiveFrom,
      };
      state.set(rotationKey(ctx.txHash), rotation as unknown as Json);
      emit(state, ctx, 'governance.key-rotated', { cvr: seat.cvr, from, to, effectiveFrom });
    },
  };
}
