/**
 * Remembers which (transaction, signature) pairs already passed the signature rule, so a node
 * verifies each signature once: on admission, not again when it builds or validates the block.
 * Verifying is the node's most expensive step (see STACK.md).
 */
import type { Hex } from './hash.ts';
import { type Transaction, transactionSignatureValid } from './transaction.ts';

export class VerifiedSignatures {
  readonly #verified = new Map<Hex, Hex>();
  readonly #limit: number;
  constructor(limit = 200_000) {
    this.#limit = limit;
  }
  /** The signature rule, consulting and filling the cache. */
  readonly valid = (tx: Transaction, hash: Hex): boolean => {
    if (this.#verified.get(hash) === tx.signature) return true;
    if (!transactionSignatureValid(tx, hash)) return false;
    this.remember(hash, tx.signature);
    return true;
  };
  /** Records a verdict reached elsewhere under the same rule (a verifier worker). */
  remember(hash: Hex, signature: Hex): void {
    if (this.#verified.size >= this.#limit) {
      // Evict the oldest entry: Map iterates in insertion order.
      const oldest = this.#verified.keys().next().value as Hex;
      this.#verified.delete(oldest);
    }
    this.#verified.set(hash, signature);
  }
  forget(hash: Hex): void {
    this.#verified.delete(hash);
  }
}
