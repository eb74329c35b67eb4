/**
 * Getting a transaction onto the chain for a caller, in one of two modes:
 *  1. relay: the caller signed it itself (its own registered key); the gateway checks the shape,
 *     the chain, the signature and that it acts for the caller's CVR, then relays it;
 *  2. sign: the gateway builds the transaction and signs it with the caller's CVR's submitter key
 *     from the key store, putting the caller's pseudonymous actor id in `as.actor`.
 * Either way the PII guard runs before anything leaves the gateway, and with `wait` the call
 * returns the chain's verdict from a block whose commit certificate the gateway verified.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../node/protocol/canonical.ts';
import { isTillidError } from '../node/protocol/errors.ts';
import type { Hex } from '../node/protocol/hash.ts';
import { findPersonalData } from '../node/protocol/pii.ts';
import { signingMessage } from '../node/protocol/signature.ts';
import {
  decodeTransaction,
  type Transaction,
  type TransactionBody,
  transactionHash,
  transactionSignatureValid,
} from '../node/protocol/transaction.ts';
import type { Caller } from './caller.ts';
import { GatewayError } from './errors.ts';
import type { FinalityWatcher, TransactionOutcome } from './finality.ts';
import type { KeyStore } from './keystore.ts';
import type { NodeRouter } from './routing.ts';

/** How long a gateway-signed transaction may wait for inclusion. */
const TTL_MS = 10 * 60_000;
/** A waited-for transaction not final after this long is handed to every node (and again after as long). */
const RESEND_AFTER_MS = 5000;

export interface SubmitResult {
  readonly hash: Hex;
  readonly outcome?: TransactionOutcome;
}

export class Submitter {
  readonly #router: NodeRouter;
  readonly #keys: KeyStore;
  readonly #finality: FinalityWatcher;
  readonly #timeoutMs: number;
  readonly #resendAfterMs: number;

  constructor(
    router: NodeRouter,
    keys: KeyStore,
    finality: FinalityWatcher,
    finalityTimeoutMs: number,
    resendAfterMs = RESEND_AFTER_MS,
  ) {
    this.#router = router;
    this.#keys = keys;
    this.#finality = finality;
    this.#timeoutMs = finalityTimeoutMs;
    this.#resendAfterMs = resendAfterMs;
  }

  /**
   * The caller's pseudonymous actor id: HMAC-SHA256 of who acts — the calling system, and the
   * user it names, if any — under the secret of the caller's CVR. Never the identity itself.
   */
  actorOf(caller: Caller, user?: string): Hex {
    const identity = `${caller.via}:${caller.system}${user ? `\nuser:${user}` : ''}`;
    const actor = this.#keys.pseudonym(caller.cvr, identity);
    if (!actor) throw new GatewayError('NO_SUBMITTER_KEY', `the gateway holds no keys for CVR ${caller.cvr}`);
    return actor;
  }

  /** Mode 2: build, sign with `cvr`'s submitter key, submit. */
  async sign(cvr: string, type: string, payload: JsonObject, wait: boolean): Promise<SubmitResult> {
    guardPii(payload);
    const signer = this.#keys.signer(cvr);
    if (!signer)
      throw new GatewayError('NO_SUBMITTER_KEY', `the gateway holds no submitter key for CVR ${cvr}`);
    const body: TransactionBody = {
      chainId: this.#router.status.chainId,
      type,
      payload,
      signer: signer.publicKey,
      nonce: randomUUID(),
      expiresAt: Date.now() + TTL_MS,
    };
    const tx: Transaction = { ...body, signature: signer.sign(signingMessage('tx', transactionHash(body))) };
    return this.#submit(cvr, tx, wait);
  }

  /**
   * Mode 1: relay a caller-signed transaction. `actsFor` is the CVR it must act for (its `as.party`
   * or `cvr`), checked by the caller of this function against the caller's identity.
   */
  async relay(cvr: string, input: unknown, wait: boolean): Promise<SubmitResult & { tx: Transaction }> {
    let tx: Transaction;
    let hash: Hex;
    try {
      ({ tx, hash } = decodeTransaction(input));
    } catch (e) {
      if (isTillidError(e)) throw GatewayError.fromNode(e.code, e.message);
      throw e;
    }
    if (tx.chainId !== this.#router.status.chainId)
      throw new GatewayError('TX_WRONG_CHAIN', `this network's chain is ${this.#router.status.chainId}`);
    if (!transactionSignatureValid(tx, hash))
      throw new GatewayError('TX_BAD_SIGNATURE', 'the signature does not verify');
    guardPii(tx.payload);
    const result = await this.#submit(cvr, tx, wait);
    return { ...result, tx };
  }

  async #submit(cvr: string, tx: Transaction, wait: boolean): Promise<SubmitResult> {
    const hash = await this.#router.submit(cvr, tx);
    if (!wait) return { hash };
    // A node can accept a transaction and never pass it on (a faulty or compromised node, or one
    // stuck behind the chain). Not final after a while: hand it to every node serving the CVR. The
    // chain includes a transaction once, so the copies cost a duplicate refusal at most.
    const resend = setInterval(() => void this.#router.broadcast(cvr, tx), this.#resendAfterMs);
    try {
      const outcome = await this.#finality.wait(cvr, hash, this.#timeoutMs);
      return { hash, outcome };
    } finally {
      clearInterval(resend);
    }
  }
}

function guardPii(payload: JsonObject): void {
  const path = findPersonalData(payload);
  if (path)
    throw new GatewayError('PII_REJECTED', `${path} looks like personal data; it must not go on the chain`, {
      path,
    });
}

/** A rejected outcome as the error the caller sees: the chain's code, with its HTTP status. */
export function rejection(outcome: TransactionOutcome): GatewayError {
  const code = outcome.code ?? 'TX_FAILED';
  const message = outcome.message ?? 'the chain refused it';
  return GatewayError.fromNode(code, message);
}
