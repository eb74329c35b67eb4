/**
 * Remembers which signatures already passed the signature rule, so a node verifies each one once:
 * on admission, not again when it builds, validates or commits the block. Verifying is the node's
 * most expensive step (see STACK.md).
 *
 * Two kinds of verdict, both keyed by the transaction hash: the transaction's own signature, and
 * each co-signature inside it (`contract.propose`). The hash covers the payload, so it covers each
 * co-signature, its key and the motion it signs: (hash, index) names exactly one check, whose
 * outcome never changes. Only valid verdicts are kept, and the signature is compared too, so a
 * cached verdict can only ever agree with what the rule would say: the outcome of a block is the
 * same on a node with a warm cache, a cold one, or none (consensus stays one rule).
 *
 * Bounded: past `limit` entries the oldest is forgotten (it is then verified again if it comes back).
 *
 * `CheckedPayloads` does the same for the stateless checks of a transaction's content (the
 * personal-data scan and the action's payload check, state/machine.ts), which admission runs and
 * each block that holds the transaction would run again.
 */
import type { Hex } from './hash.ts';
import { verifySignature } from './signature.ts';
import { type Transaction, transactionSignatureValid } from './transaction.ts';

export class VerifiedSignatures {
  /** Key: the transaction hash, or `hash/index` for a co-signature; value: the signature checked. */
  readonly #verified = new Map<string, string>();
  readonly #limit: number;
  constructor(limit = 200_000) {
    this.#limit = limit;
  }
  get size(): number {
    return this.#verified.size;
  }
  /** The signature rule, consulting and filling the cache. */
  readonly valid = (tx: Transaction, hash: Hex): boolean => {
    if (this.#verified.get(hash) === tx.signature) return true;
    if (!transactionSignatureValid(tx, hash)) return false;
    this.remember(hash, tx.signature);
    return true;
  };
  /**
   * The signature rule for co-signature `index` of transaction `hash` (`publicKey` signed
   * `message`), consulting and filling the cache.
   */
  readonly cosignatureValid = (
    hash: Hex,
    index: number,
    publicKey: Hex,
    message: Uint8Array,
    signature: string,
  ): boolean => {
    const key = `${hash}/${index}`;
    if (this.#verified.get(key) === signature) return true;
    if (!verifySignature(publicKey, message, signature)) return false;
    this.#set(key, signature);
    return true;
  };
  /** Records a verdict reached elsewhere under the same rule (a verifier worker). */
  remember(hash: Hex, signature: Hex): void {
    this.#set(hash, signature);
  }
  forget(hash: Hex): void {
    this.#verified.delete(hash);
  }
  #set(key: string, signature: string): void {
    if (this.#verified.has(key)) return;
    if (this.#verified.size >= this.#limit) {
      // Evict the oldest entry: Map iterates in insertion order.
      const oldest = this.#verified.keys().next().value as string;
      this.#verified.delete(oldest);
    }
    this.#verified.set(key, signature);
  }
}

/**
 * Transactions whose content passed the content-only stateless checks: the personal-data scan and
 * the action's payload check (`statelessProblem`, state/machine.ts). Both read nothing but the type
 * and payload, which the transaction hash covers, and one node's rules never change, so a hash
 * that passed once passes again: skipping the checks for it cannot change a block's outcome. Only
 * passes are kept (a rejection is recomputed, with its message, every time). The time window,
 * chain id and signature are not covered: they are checked every time (the signature through
 * `VerifiedSignatures`). The hash must be the one the node computed from the transaction itself,
 * as for the signature verdicts.
 *
 * Bounded: past `limit` entries the oldest is forgotten (and checked again if it comes back).
 */
export class CheckedPayloads {
  readonly #passed = new Set<Hex>();
  readonly #limit: number;
  constructor(limit = 200_000) {
    this.#limit = limit;
  }
  get size(): number {
    return this.#passed.size;
  }
  readonly has = (hash: Hex): boolean => this.#passed.has(hash);
  readonly add = (hash: Hex): void => {
    if (this.#passed.has(hash)) return;
    if (this.#passed.size >= this.#limit) {
      // Evict the oldest entry: Set iterates in insertion order.
      this.#passed.delete(this.#passed.values().next().value as Hex);
    }
    this.#passed.add(hash);
  };
}
