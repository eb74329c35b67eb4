/**
 * Admission: the checks a submitted transaction passes before it enters the mempool. The same
 * stateless rules a block must satisfy (state/machine.ts), judged against the node's clock, plus
 * "not already on the chain" and "not already pending", and the action's own admission check against
 * the committed state where it has one (`Action.admit`). Whatever fails changes nothing.
 */
import { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { decodeTransaction, type Transaction } from '../protocol/transaction.ts';
import { actionFor, type Receipt, type Rules, statelessProblem } from '../state/machine.ts';
import type { StateReader } from '../state/module.ts';
import type { Mempool } from './mempool.ts';

export interface AdmissionDeps {
  /** Checks a signature under the one rule, possibly on another thread. */
  readonly verify: (tx: Transaction, hash: Hex) => Promise<boolean>;
  readonly rules: Rules;
  readonly mempool: Mempool;
  readonly receipt: (hash: Hex) => Receipt | undefined;
  /** The node's clock. Only admission reads it; blocks use their own timestamp. */
  readonly now: () => number;
  /** The committed state for per-action admission checks; defaults to `rules.committedState`. */
  readonly state?: StateReader;
}

/** Admits `input` or throws a TillidError. Resolves to the transaction hash. */
export async function admitTransaction(input: unknown, deps: AdmissionDeps): Promise<Hex> {
  const { tx, hash, bytes } = decodeTransaction(input);
  // Duplicates first: a client retrying a submission should hear "already have it", not "expired".
  if (deps.mempool.has(hash) || deps.receipt(hash) !== undefined) {
    throw new TillidError('TX_DUPLICATE', 'the transaction is already pending or on the chain', { hash });
  }
  // Every stateless rule but the signature, which comes last because it is by far the dearest.
  const problem = statelessProblem({ tx, hash }, deps.now(), { ...deps.rules, signatureValid: () => true });
  if (problem) throw problem;
  if (!(await deps.verify(tx, hash))) {
    throw new TillidError('TX_BAD_SIGNATURE', 'the signature does not verify under the signer key');
  }
  // The action's own admission check against committed state, with the code the block would give
  // (e.g. an approval whose key may not act in the claimed role). After the signature: only a
  // signed transaction learns what state says about it.
  const state = deps.state ?? deps.rules.committedState;
  if (state) actionFor(tx, deps.rules)?.admit?.(state, tx);
  // Checked again: the same transaction may have been admitted while this one was being verified.
  if (deps.receipt(hash) !== undefined)
    throw new TillidError('TX_DUPLICATE', 'the transaction is already on the chain', { hash });
  deps.mempool.add({ tx, hash }, bytes);
  return hash;
}
