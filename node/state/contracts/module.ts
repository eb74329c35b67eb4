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
import { contractSchemas } from '../../schemas/contract.ts';
import { LIMITS, type PayloadLimits } from '../../schemas/limits.ts';
import { payloadValidator } from '../../schemas/validate.ts';
import type { Action, Module } from '../module.ts';
import { resolveActing } from '../party/acting.ts';
import type { ContractAction } from './actions/action.ts';
import { approve } from './actions/approve.ts';
import { create } from './actions/create.ts';
import { defineTemplate } from './actions/define-template.ts';
import { propose } from './actions/propose.ts';
import { report } from './actions/report.ts';
import { processAgenda } from './agenda.ts';
import { type BusinessClock, businessDay, clockOf } from './calendar.ts';
import { contractQueries } from './read-models.ts';

const ACTIONS = { defineTemplate, create, propose, approve, report } as const;
type ActionName = keyof typeof ACTIONS;

/**
 * The contract module. `limits` are the protocol's payload limits; tests pass others to see one
 * change reach every consumer of the schemas.
 */
export function contractModule(genesis: Genesis, limits: PayloadLimits = LIMITS): Module {
  const clock: BusinessClock = clockOf(genesis);
  const schemas = contractSchemas(limits);
  const wrap = (name: ActionName, a: ContractAction): Action => {
    const valid = payloadValidator(schemas[name], `contract.${name}`);
    return {
      check(payload) {
        valid(payload);
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
    };
  };
  const names = Object.keys(ACTIONS) as ActionName[];
  return {
    name: 'contract',
    actions: Object.fromEntries(names.map((name) => [name, wrap(name, ACTIONS[name])])),
    beginBlock: (state, ctx) => processAgenda(state, ctx, businessDay(clock, ctx)),
    queries: contractQueries,
  };
}
