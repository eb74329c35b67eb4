/**
 * `contract.create`: the municipality drafts a contract with a registered provider from one of its templates, optionally as a dependant of another of its contracts. The contract id is the transaction hash; it starts as a draft.
 */
import { TillidError } from '../../../protocol/errors.ts';
import type { Hex } from '../../../protocol/hash.ts';
import { append } from '../../lists.ts';
import { readParty } from '../../party/acting.ts';
import { dayOfMonth } from '../calendar.ts';
import { checkItems, date, fields, hash, int, KLE } from '../payload.ts';
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
import { type LineItem, MAX_MONTHS, type Terms } from '../terms.ts';
import { record } from '../timeline.ts';
import type { ContractAction } from './action.ts';

const WHERE = 'contract.create';

export const create: ContractAction = {
  check(p) {
    fields(
      p,
      [
        'as',
        'template',
        'provider',
        'start',
        'months',
        'items',
        'reportEveryMonths',
        'parent',
        'onParentEnd',
        'kle',
        'document',
      ],
      WHERE,
    );
    if (typeof p.template !== 'string' || !/^\d{8}\/[a-z][a-z0-9-]{0,31}$/.test(p.template))
      throw invalid('template must be <municipality CVR>/<code>', 'template');
    if (typeof p.provider !== 'string' || !/^\d{8}$/.test(p.provider))
      throw invalid('provider must be a CVR number', 'provider');
    const start = date(p.start, 'start');
    if (dayOfMonth(start) > 28)
      throw invalid('start must fall on day 1-28, so every monthly due date exists', 'start');
    if (p.months !== undefined) int(p.months, 1, MAX_MONTHS, 'months');
    checkItems(p.items, start, 'items');
    int(p.reportEveryMonths, 0, 12, 'reportEveryMonths');
    if (p.parent !== undefined) hash(p.parent, 'parent');
    if ((p.parent === undefined) !== (p.onParentEnd === undefined))
      throw invalid('parent and onParentEnd go together', 'onParentEnd');
    if (p.onParentEnd !== undefined && p.onParentEnd !== 'terminate' && p.onParentEnd !== 'suspend')
      throw invalid("onParentEnd is 'terminate' or 'suspend'", 'onParentEnd');
    if (p.kle !== undefined && (typeof p.kle !== 'string' || !KLE.test(p.kle)))
      throw invalid('kle must be a KLE code such as 27.35.04', 'kle');
    if (p.document !== undefined) hash(p.document, 'document');
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
    if (!provider || provider.kind !== 'provider')
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
