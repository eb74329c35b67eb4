/**
 * Admission: the checks a submitted transaction passes before it enters the mempool. The same
 * stateless rules a block must satisfy (state/machine.ts), judged against the node's clock, plus
 * "not already on the chain" and "not already pending". Whatever fails changes nothing.
 */
import { canonicalBytes } from '../protocol/canonical.ts';
import { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { decodeTransaction, transactionHash } from '../protocol/transaction.ts';
import type { Receipt } from '../state/machine.ts';
import { type Rules, statelessProblem } from '../state/machine.ts';
import type { Mempool } from './mempool.ts';

export interface AdmissionDeps {
  readonly rules: Rules;
  readonly mempool: Mempool;
  readonly receipt: (hash: Hex) => Receipt | undefined;
  /** The node's clock. Only admission reads it; blocks use their own timestamp. */
  readonly now: () => number;
}

/** Admits `input` or throws a TillidError. Returns the transaction hash. */
export function admitTransaction(input: unknown, deps: AdmissionDeps): Hex {
  const tx = decodeTransaction(input);
  const hash = transactionHash(tx);
  // Duplicates first: a client retrying a submission should hear "already have it", not "expired".
  if (deps.mempool.has(hash) || deps.receipt(hash) !== undefined) {
    throw new TillidError('TX_DUPLICATE', 'the transaction is already pending or on the chain', { hash });
  }
  const problem = statelessProblem({ tx, hash }, deps.now(), deps.rules);
  if (problem) throw problem;
  deps.mempool.add({ tx, hash }, canonicalBytes(tx).length);
  return hash;
}
