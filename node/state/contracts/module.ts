/**
 * `contract`: municipal contracts — the placement of a child and its dependent contracts (school
 * support, consultant, taxi) — with approval policies, status reports and monthly payment
 * decisions. The interface (payloads, events, codes) is described in this folder's README; the
 * state layout in `records.ts`. Time is the block's business time (`calendar.ts`), never a clock.
 *
 * This file only lists the actions. Every action first resolves its `as` claim against the signer
 * (`party/acting.ts`) and reads the business day; then the action's own file takes over.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Action, Module } from '../module.ts';
import { checkActing, resolveActing } from '../party/acting.ts';
import type { ContractAction } from './actions/action.ts';
import { approve } from './actions/approve.ts';
import { create } from './actions/create.ts';
import { defineTemplate } from './actions/define-template.ts';
import { propose } from './actions/propose.ts';
import { report } from './actions/report.ts';
import { processAgenda } from './agenda.ts';
import { type BusinessClock, businessDay, clockOf } from './calendar.ts';
import { contractQueries } from './read-models.ts';

const ACTIONS: Readonly<Record<string, ContractAction>> = {
  defineTemplate,
  create,
  propose,
  approve,
  report,
};

export function contractModule(genesis: Genesis): Module {
  const clock: BusinessClock = clockOf(genesis);
  const wrap = (a: ContractAction): Action => ({
    check(payload) {
      checkActing(payload.as);
      a.check(payload);
    },
    ...(a.admit
      ? {
          admit: (state, tx) =>
            a.admit?.(state, tx, resolveActing(state, tx.signer, tx.payload.as as JsonObject)),
        }
      : {}),
    apply(state, tx, ctx) {
      const acting = resolveActing(state, tx.signer, tx.payload.as as JsonObject);
      a.apply(state, tx, ctx, { acting, today: businessDay(clock, ctx) });
    },
  });
  return {
    name: 'contract',
    actions: Object.fromEntries(Object.entries(ACTIONS).map(([name, a]) => [name, wrap(a)])),
    beginBlock: (state, ctx) => processAgenda(state, ctx, businessDay(clock, ctx)),
    queries: contractQueries,
  };
}
