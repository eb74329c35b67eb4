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
