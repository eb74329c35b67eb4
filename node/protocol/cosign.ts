/**
 * Offline co-signatures of a contract motion (the pilot's multisignature: each party signs the
 * motion, one of them broadcasts it). Here in `protocol`, beside the transaction signature, because
 * both the chain (which verifies) and clients (which sign) need exactly these bytes.
 */
import type { JsonObject } from './canonical.ts';
import { canonicalHash, type Hex } from './hash.ts';
import { signingMessage, verifySignature } from './signature.ts';
import type { Transaction } from './transaction.ts';

/**
 * What a co-signer of a motion signs: the motion's content bound to the proposing transaction's
 * nonce and expiry, so a co-signature is good for that one transaction. Signed under the `cosign`
 * domain tag (`signingMessage('cosign', digest)`). The proposer's `as` and the co-signatures
 * themselves are left out: each co-signer signs the motion, not the others' claims.
 */
export function cosignDigest(chainId: string, payload: JsonObject, nonce: string, expiresAt: number): Hex {
  const { as: _as, cosignatures: _c, ...motion } = payload;
  return canonicalHash({ chainId, ...motion, nonce, expiresAt });
}

/**
 * The co-signatures of `tx` that verify, by index: what `contract.propose` checks when it executes
 * (each `cosignatures[i]` under its `publicKey`, over the motion's digest, `cosign` tag), from the
 * transaction alone, so a verifier thread can do it at admission and the node remember the
 * verdicts (protocol/verdicts.ts) for block execution. The chain id is the transaction's own: a
 * transaction reaches execution only on its chain, where the two are the same.
 */
export function validCosignatures(tx: Transaction): number[] {
  if (tx.type !== 'contract.propose') return [];
  const list = tx.payload.cosignatures;
  if (!Array.isArray(list) || list.length === 0) return [];
  const message = signingMessage('cosign', cosignDigest(tx.chainId, tx.payload, tx.nonce, tx.expiresAt));
  const valid: number[] = [];
  list.forEach((cs, i) => {
    const { publicKey, signature } = (cs ?? {}) as JsonObject;
    if (typeof publicKey !== 'string' || typeof signature !== 'string') return;
    try {
      if (verifySignature(publicKey, message, signature)) valid.push(i);
    } catch {
      // A malformed key or signature is not a valid co-signature; execution says so with its code.
    }
  });
  return valid;
}
