/**
 * `contract.defineTemplate`: a municipal director defines an immutable contract template: the approval policy of each motion action, whether a late report releases what was withheld, and how long a motion stays open.
 */

import type { JsonObject } from '../../../protocol/canonical.ts';
import { TillidError } from '../../../protocol/errors.ts';
import { emit } from '../../events.ts';
import { code, fields, int } from '../payload.ts';
import { decodePolicy } from '../policy.ts';
import { invalid, MOTION_ACTIONS, type Template, templateKey, write } from '../records.ts';
import type { ContractAction } from './action.ts';

const WHERE = 'contract.defineTemplate';

export const defineTemplate: ContractAction = {
  check(p) {
    fields(p, ['as', 'code', 'policies', 'releaseWithheldOnReport', 'approvalLifetimeDays'], WHERE);
    code(p.code, 'code');
    if (typeof p.policies !== 'object' || p.policies === null || Array.isArray(p.policies))
      throw invalid('policies must name a policy for each action', 'policies');
    fields(p.policies, MOTION_ACTIONS, 'policies');
    for (const a of MOTION_ACTIONS) decodePolicy(p.policies[a], `policies.${a}`);
    if (typeof p.releaseWithheldOnReport !== 'boolean')
      throw invalid('releaseWithheldOnReport must be a boolean', 'releaseWithheldOnReport');
    int(p.approvalLifetimeDays, 1, 365, 'approvalLifetimeDays');
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
