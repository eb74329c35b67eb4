/**
 * The shape of a contract action. The module (`../module.ts`) checks the common `as` claim before
 * `check`, and resolves it against the signer (who acts, in which role) and reads the business day
 * before `apply`, so each action starts from "who" and "when".
 */
import type { JsonObject } from '../../../protocol/canonical.ts';
import type { Transaction } from '../../../protocol/transaction.ts';
import type { StateReader, StateWriter, TxContext } from '../../module.ts';
import type { Acting } from '../../party/acting.ts';

export interface ContractAction {
  /** Stateless checks of the payload besides `as` (see Action.check). */
  check(payload: JsonObject): void;
  /** Admission check against the committed state, with the acting party resolved (see Action.admit). */
  admit?(state: StateReader, tx: Transaction, acting: Acting): void;
  apply(state: StateWriter, tx: Transaction, ctx: TxContext, who: { acting: Acting; today: number }): void;
}
