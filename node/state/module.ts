/**
 * The application's interface to the chain, after CometBFT's ABCI split: modules are deterministic
 * functions of (state, transaction, block context). They see no clock but the block's timestamp, no
 * randomness and no I/O, so every node that applies the same blocks reaches the same state.
 */
import type { Json, JsonObject } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Transaction } from '../protocol/transaction.ts';

export interface StateReader {
  get(key: string): Json | undefined;
}

export interface StateWriter extends StateReader {
  set(key: string, value: Json): void;
}

export interface BlockContext {
  readonly chainId: string;
  readonly height: number;
  /** Block time, ms since the epoch. */
  readonly timestamp: number;
  readonly proposer: Hex;
}

export interface TxContext extends BlockContext {
  readonly txHash: Hex;
  /** Position of the transaction in its block. */
  readonly index: number;
  /**
   * The signature rule for the transaction's co-signature `i` (`publicKey` signed `message`),
   * remembering verdicts by (txHash, i). Absent: `verifySignature` itself. Same outcome either way.
   */
  readonly cosignatureValid?: (i: number, publicKey: Hex, message: Uint8Array, signature: string) => boolean;
}

/**
 * One transaction type, e.g. `contract.approve`: everything the chain does with it, in one place.
 * The stateless `check` runs on admission and again in every block; `admit`, when present, runs on
 * admission only, against the committed state (a cheap early refusal with the code the block would
 * give — the block still decides); `apply` is the state transition.
 */
export interface Action {
  /**
   * Stateless validation of a payload: shape and limits. Throws a TillidError (code
   * `TX_PAYLOAD_INVALID`) and is run both on admission and when a block is executed.
   */
  check(payload: JsonObject): void;
  /**
   * Optional admission check against the latest committed state. Throws the TillidError the block
   * would record. Never relied on for safety: state may change before the transaction is included.
   */
  admit?(state: StateReader, tx: Transaction): void;
  /**
   * Applies a transaction. Throws a TillidError to reject it; its writes are then discarded and
   * the rejection is recorded in the transaction's receipt.
   */
  apply(state: StateWriter, tx: Transaction, ctx: TxContext): void;
}

/** A module's read queries: pure functions of a state reader, so no caller learns its key layout. */
// biome-ignore lint/suspicious/noExplicitAny: each query declares its own arguments
export type Queries = Readonly<Record<string, (state: StateReader, ...args: any[]) => unknown>>;

export interface Module {
  /** The part of a transaction type before the dot, e.g. `anchor`. */
  readonly name: string;
  /** The actions this module accepts by name, e.g. `record` for `anchor.record`. */
  readonly actions: Readonly<Record<string, Action>>;
  /**
   * Runs at the start of every block, before its transactions: work that falls due with time
   * (payment decisions, expiries). Must be cheap when nothing is due, since it runs for empty
   * blocks too. A throw discards the hook's writes for this block (on every node alike).
   */
  beginBlock?(state: StateWriter, ctx: BlockContext): void;
  /** Read queries for the API (see `Queries`). */
  readonly queries?: Queries;
}

/** The action `module.action` names, or `undefined` (own properties only: `toString` is no action). */
export const actionOf = (module: Module | undefined, action: string): Action | undefined =>
  module && Object.hasOwn(module.actions, action) ? module.actions[action] : undefined;

/** Read-only query helpers the API uses; modules keep their key layout private. */
export type ModuleRegistry = ReadonlyMap<string, Module>;

export const registry = (modules: readonly Module[]): ModuleRegistry =>
  new Map(modules.map((m) => [m.name, m]));
