/**
 * `contract.create`: the municipality drafts a contract with a registered provider from one of its
 * templates, optionally as a dependant of another of its contracts. The contract id is the
 * transaction hash; it starts as a draft.
 */
import type { JsonObject } from '../../../protocol/canonical.ts';
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { append } from '../../lists.ts';
import { readParty } from '../../party/acting.ts';
import { dayOfMonth } from '../calendar.ts';
import { checkItemRules, date } from '../payload.ts';
import {
  byPartyKey,
  type ContractRecord,
  contractKey,
  invalid,
  MAX_CHILDREN,
  read,
  requireContract,
  type Template,
  templateKey,
  write,
  wrongState,
} from '../records.ts';
import type { LineItem, Terms } from '../terms.ts';
import { record } from '../timeline.ts';
import type { ContractAction } from './action.ts';

export const create: ContractAction = {
  check(p) {
    const start = date(p.start, 'start');
    if (dayOfMonth(start) > 28)
      throw invalid('start must fall on day 1-28, so every monthly due date exists', 'start');
    checkItemRules(p.items as JsonObject[], start, 'items');
    if ((p.parent === undefined) !== (p.onParentEnd === undefined))
      throw invalid('parent and onParentEnd go together', 'onParentEnd');
  },
  apply(state, tx, ctx, { acting, today }) {
    const p = tx.payload;
    if (acting.party !== 'municipality')
      throw new TillidError('ROLE_NOT_ALLOWED', 'a contract is drafted by the municipality');
    const template = read<Template>(state, templateKey(p.template as string));
    if (!template || template.municipality !== acting.cvr)
      throw new TillidError(
        'TEMPLATE_NOT_FOUND',
        `municipality ${acting.cvr} has no template ${p.template as string}`,
      );
    const provider = readParty(state, p.provider as string);
    if (provider?.kind !== 'provider')
      throw new TillidError('PARTY_NOT_FOUND', `no provider with CVR ${p.provider as string} is registered`);
    let parent: ContractRecord | undefined;
    if (p.parent !== undefined) {
      parent = requireContract(state, p.parent as Hex);
      if (parent.municipality !== acting.cvr)
        throw new TillidError('PARTY_NOT_ON_CONTRACT', 'the parent contract belongs to another municipality');
      if (parent.status === 'terminated' || parent.status === 'expired')
        throw wrongState(`the parent contract is ${parent.status}`);
      if (parent.children.length >= MAX_CHILDREN)
        throw wrongState(`a contract has at most ${MAX_CHILDREN} dependants`);
    }
    const terms: Terms = {
      items: p.items as unknown as LineItem[],
      months: (p.months as number | undefined) ?? null,
      reportEveryMonths: p.reportEveryMonths as number,
    };
    let c: ContractRecord = {
      id: ctx.txHash,
      template: template.id,
      municipality: acting.cvr,
      provider: provider.cvr,
      ...(p.kle ? { kle: p.kle as string } : {}),
      ...(p.caseRef ? { caseRef: p.caseRef as Hex } : {}),
      start: p.start as string,
      ...(parent ? { parent: parent.id, onParentEnd: p.onParentEnd as 'terminate' | 'suspend' } : {}),
      children: [],
      status: 'draft',
      versions: [{ terms, fromPeriod: 1, height: ctx.height }],
      reports: {},
      documents: p.document ? [{ docType: 'contract', document: p.document as Hex, height: ctx.height }] : [],
      decided: 0,
      released: 0,
      releasable: [],
      lapsed: [],
      createdAt: ctx.height,
      timeline: 0,
    };
    c = record(
      state,
      ctx,
      c,
      'contract.created',
      { role: acting.role, actor: acting.actor, ...(parent ? { parent: parent.id } : {}) },
      today,
    );
    write(state, contractKey(c.id), c);
    if (parent) write(state, contractKey(parent.id), { ...parent, children: [...parent.children, c.id] });
    append(state, byPartyKey(c.municipality), c.id);
    append(state, byPartyKey(c.provider), c.id);
  },
};
