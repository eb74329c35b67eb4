/**
 * Builds and signs transactions for one chain. Encoding, hashing and signing are the node's own
 * (`node/protocol`): a transaction built here has exactly the bytes, id and signature the node
 * computes, because it is computed by the same functions.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../node/protocol/canonical.ts';
import { cosignDigest } from '../node/protocol/cosign.ts';
import type { Hex } from '../node/protocol/hash.ts';
import { proveRotation } from '../node/protocol/rotation.ts';
import { type KeyPair, Signer, signingMessage } from '../node/protocol/signature.ts';
import { signTransactionWith, type Transaction } from '../node/protocol/transaction.ts';
import type {
  Acting,
  ApprovePayload,
  Cosignature,
  CreateContractPayload,
  DefineTemplatePayload,
  Payloads,
  ProposePayload,
  ReportPayload,
  TransactionType,
} from './payloads.ts';

/**
 * A key that signs: a key pair (as read from a key file), or anything with a public key and a
 * `sign(message)` — a hardware-held or key-store key, such as the gateway's submitter keys.
 */
export type SignerLike = KeyPair | { readonly publicKey: Hex; sign(message: Uint8Array): Hex };

export interface BuilderOptions {
  /** Clock for `expiresAt`; defaults to `Date.now`. */
  readonly now?: () => number;
  /** How long a transaction stays valid; default 10 minutes (the node accepts at most an hour). */
  readonly ttlMs?: number;
}

/** Per transaction: a chosen nonce and expiry instead of fresh ones. */
export interface SignOptions {
  readonly nonce?: string;
  readonly expiresAt?: number;
}

/**
 * A motion to be co-signed offline: the proposer fixes the nonce and expiry first, hands this to
 * each co-signer (it holds no secret), collects their co-signatures, then proposes with them.
 */
export interface MotionDraft {
  readonly payload: ProposePayload;
  readonly nonce: string;
  readonly expiresAt: number;
}

const DEFAULT_TTL_MS = 10 * 60_000;

// node:crypto keys sign ten times faster than noble; one per key pair, reused across calls.
const signers = new WeakMap<KeyPair, Signer>();
function signerOf(key: SignerLike): { readonly publicKey: Hex; sign(message: Uint8Array): Hex } {
  if (!('privateKey' in key)) return key;
  let signer = signers.get(key);
  if (!signer) {
    signer = new Signer(key);
    signers.set(key, signer);
  }
  return signer;
}

/** Optional fields left `undefined` are dropped: the canonical encoding has no `undefined`. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
  return out;
}

type Without<T, K extends keyof T> = Omit<T, K>;

/** The transaction builder for chain `chainId`. */
export function transactions(chainId: string, options: BuilderOptions = {}) {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;

  /** Signs any transaction type with its typed payload. */
  const sign = <T extends TransactionType>(
    key: SignerLike,
    type: T,
    payload: Payloads[T],
    o: SignOptions = {},
  ): Transaction => {
    const signer = signerOf(key);
    return signTransactionWith(
      {
        chainId,
        type,
        payload: plain(payload) as JsonObject,
        signer: signer.publicKey,
        nonce: o.nonce ?? randomUUID(),
        expiresAt: o.expiresAt ?? now() + ttlMs,
      },
      signer,
    );
  };

  const draftMotion = (payload: ProposePayload, o: SignOptions = {}): MotionDraft => ({
    payload: plain(payload) as ProposePayload,
    nonce: o.nonce ?? randomUUID(),
    expiresAt: o.expiresAt ?? now() + ttlMs,
  });

  /** A co-signer's signature on a drafted motion, acting for `as`. */
  const cosign = (key: SignerLike, as: Acting, draft: MotionDraft): Cosignature => {
    const signer = signerOf(key);
    const digest = cosignDigest(
      chainId,
      draft.payload as unknown as JsonObject,
      draft.nonce,
      draft.expiresAt,
    );
    return { as, publicKey: signer.publicKey, signature: signer.sign(signingMessage('cosign', digest)) };
  };

  /** Proposes a drafted motion with the co-signatures collected for it. */
  const proposeDraft = (key: SignerLike, draft: MotionDraft, cosignatures: readonly Cosignature[]) =>
    sign(
      key,
      'contract.propose',
      { ...draft.payload, cosignatures: [...cosignatures] },
      { nonce: draft.nonce, expiresAt: draft.expiresAt },
    );

  const contract = {
    defineTemplate: (key: SignerLike, p: DefineTemplatePayload, o?: SignOptions) =>
      sign(key, 'contract.defineTemplate', p, o),
    create: (key: SignerLike, p: CreateContractPayload, o?: SignOptions) =>
      sign(key, 'contract.create', p, o),
    propose: (key: SignerLike, p: ProposePayload, o?: SignOptions) => sign(key, 'contract.propose', p, o),
    approve: (key: SignerLike, p: ApprovePayload, o?: SignOptions) => sign(key, 'contract.approve', p, o),
    report: (key: SignerLike, p: ReportPayload, o?: SignOptions) => sign(key, 'contract.report', p, o),
    draftMotion,
    cosign,
    proposeDraft,
    /** Drafts, co-signs and proposes in one step, for when every co-signer's key is at hand. */
    proposeCosigned: (
      key: SignerLike,
      p: ProposePayload,
      cosigners: readonly { readonly key: SignerLike; readonly as: Acting }[],
      o?: SignOptions,
    ) => {
      const draft = draftMotion(p, o);
      return proposeDraft(
        key,
        draft,
        cosigners.map((c) => cosign(c.key, c.as, draft)),
      );
    },
  };

  return {
    chainId,
    sign,
    anchor: (key: SignerLike, p: Payloads['anchor.record'], o?: SignOptions) =>
      sign(key, 'anchor.record', p, o),
    party: {
      register: (key: SignerLike, p: Payloads['party.register'], o?: SignOptions) =>
        sign(key, 'party.register', p, o),
      addKey: (key: SignerLike, p: Payloads['party.addKey'], o?: SignOptions) =>
        sign(key, 'party.addKey', p, o),
      revokeKey: (key: SignerLike, p: Payloads['party.revokeKey'], o?: SignOptions) =>
        sign(key, 'party.revokeKey', p, o),
    },
    contract,
    governance: {
      propose: (key: SignerLike, p: Payloads['governance.propose'], o?: SignOptions) =>
        sign(key, 'governance.propose', p, o),
      vote: (key: SignerLike, p: Payloads['governance.vote'], o?: SignOptions) =>
        sign(key, 'governance.vote', p, o),
      /** Signed by the current key `key`; `newKey` signs the proof that it holds the new key. */
      rotate: (key: SignerLike, newKey: SignerLike, o?: SignOptions) => {
        const next = signerOf(newKey);
        const proof = proveRotation(chainId, signerOf(key).publicKey, next);
        return sign(key, 'governance.rotate', { publicKey: next.publicKey, proof }, o);
      },
    },
    /**
     * The contract actions of one key acting as one party and role — what a provider or case system
     * signing for itself uses: `b.actingAs(key, as).report({ contract, period, document })`.
     */
    actingAs(key: SignerLike, as: Acting) {
      return {
        defineTemplate: (p: Without<DefineTemplatePayload, 'as'>, o?: SignOptions) =>
          contract.defineTemplate(key, { as, ...p }, o),
        create: (p: Without<CreateContractPayload, 'as'>, o?: SignOptions) =>
          contract.create(key, { as, ...p }, o),
        propose: (p: Without<ProposePayload, 'as'>, o?: SignOptions) =>
          contract.propose(key, { as, ...p }, o),
        approve: (motion: Hex, o?: SignOptions) => contract.approve(key, { as, motion }, o),
        report: (p: Without<ReportPayload, 'as'>, o?: SignOptions) => contract.report(key, { as, ...p }, o),
        draftMotion: (p: Without<ProposePayload, 'as' | 'cosignatures'>, o?: SignOptions) =>
          draftMotion({ as, ...p }, o),
        cosign: (draft: MotionDraft) => cosign(key, as, draft),
        proposeDraft: (draft: MotionDraft, cosignatures: readonly Cosignature[]) =>
          proposeDraft(key, draft, cosignatures),
      };
    },
  };
}

export type TransactionBuilder = ReturnType<typeof transactions>;
