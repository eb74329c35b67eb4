/**
 * Offline co-signatures of a contract motion (the pilot's multisignature: each party signs the
 * motion, one of them broadcasts it). Here in `protocol`, beside the transaction signature, because
 * both the chain (which verifies) and clients (which sign) need exactly these bytes.
 */
import type { JsonObject } from './canonical.ts';
import { canonicalHash, type Hex } from './hash.ts';

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
