/**
 * `contract.defineTemplate`: a municipal director defines an immutable contract template: the
 * approval policy of each motion action, whether a late report releases what was withheld, and how
 * long a motion stays open.
 */

import type { JsonObject } from '../../../protocol/canonical.ts';
import { TillidError } from '../../../protocol/errors.ts';
import { emit } from '../../events.ts';
import { decodePolicy } from '../policy.ts';
import { MOTION_ACTIONS, type Template, templateKey, write } from '../records.ts';
import type { ContractAction } from './action.ts';

export const defineTemplate: ContractAction = {
  check(p) {
    // The schema has checked that each action has a policy; here what the policies mean.
    for (const a of MOTION_ACTIONS) decodePolicy((p.policies as JsonObject)[a], `policies.${a}`);
  },
  apply(state, tx, ctx, { acting }) {
    const p = tx.payload;
    if (acting.party !== 'municipality' || acting.role !== 'director')
      throw new TillidError('ROLE_NOT_ALLOWED', 'a template is defined by a municipal director');
    const id = `${acting.cvr}/${p.code as string}`;
    if (state.get(templateKey(id)) !== undefined)
      throw new TillidError(
        'TEMPLATE_EXISTS',
        `template ${id} exists; templates are immutable, use a new code`,
      );
    const policies = Object.fromEntries(
      MOTION_ACTIONS.map((a) => [a, decodePolicy((p.policies as JsonObject)[a])]),
    );
    const template: Template = {
      id,
      municipality: acting.cvr,
      code: p.code as string,
      policies: policies as Template['policies'],
      releaseWithheldOnReport: p.releaseWithheldOnReport as boolean,
      approvalLifetimeDays: p.approvalLifetimeDays as number,
      definedAt: ctx.height,
    };
    write(state, templateKey(id), template);
    emit(state, ctx, 'contract.template-defined', { template: id, municipality: acting.cvr });
  },
};
