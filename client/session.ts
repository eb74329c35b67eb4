/**
 * `connect()`: one key (optionally acting as one party and role) on one node — the shape a
 * support system or a provider signing for itself wants, where each action is one line:
 *
 *   const tillid = await connect(url, { key, as: { party: '11111111', role: 'provider-representative', actor } });
 *   await tillid.report({ contract, period: 3, document }, { wait: true });
 */
import type { Hex } from '../node/protocol/hash.ts';
import type { Transaction } from '../node/protocol/transaction.ts';
import { type ClientOptions, TillidClient, type TransactionView, type WaitOptions } from './http.ts';
import type * as P from './payloads.ts';
import {
  type BuilderOptions,
  type MotionDraft,
  type SignerLike,
  type SignOptions,
  type TransactionBuilder,
  transactions,
} from './transactions.ts';

export interface ConnectOptions extends ClientOptions, BuilderOptions {
  /** The key this session signs with. Without one the session only reads. */
  readonly key?: SignerLike;
  /** Who the key acts as in contract actions. */
  readonly as?: P.Acting;
}

/** Per action: sign options, and whether to wait for finality (throws on a chain refusal). */
export type SendOptions = SignOptions & WaitOptions & { readonly wait?: boolean };

export class Session {
  /** Reads and raw submission. */
  readonly api: TillidClient;
  /** Builds and signs transactions for this chain with any key. */
  readonly build: TransactionBuilder;
  readonly chainId: string;
  readonly #key: SignerLike | undefined;
  readonly #as: P.Acting | undefined;

  constructor(api: TillidClient, build: TransactionBuilder, key?: SignerLike, as?: P.Acting) {
    this.api = api;
    this.build = build;
    this.chainId = build.chainId;
    this.#key = key;
    this.#as = as;
  }

  get publicKey(): Hex | undefined {
    return this.#key?.publicKey;
  }

  /** The session's key; throws when the session was opened without one. */
  signer(): SignerLike {
    if (!this.#key) throw new TypeError('this session has no key: connect(url, { key }) to sign');
    return this.#key;
  }

  /** The contract actions of the session's key and `as`, built and signed but not sent. */
  acting() {
    if (!this.#as)
      throw new TypeError('contract actions need connect(url, { key, as: { party, role, actor } })');
    return this.build.actingAs(this.signer(), this.#as);
  }

  /** Submits a signed transaction; with `wait`, resolves once final. */
  send(tx: Transaction, options: SendOptions = {}): Promise<TransactionView> {
    return this.api.send(tx, options);
  }

  anchor(p: P.Payloads['anchor.record'], o: SendOptions = {}) {
    return this.send(this.build.anchor(this.signer(), p, o), o);
  }
  registerParty(p: P.Payloads['party.register'], o: SendOptions = {}) {
    return this.send(this.build.party.register(this.signer(), p, o), o);
  }
  addKey(p: P.Payloads['party.addKey'], o: SendOptions = {}) {
    return this.send(this.build.party.addKey(this.signer(), p, o), o);
  }
  revokeKey(p: P.Payloads['party.revokeKey'], o: SendOptions = {}) {
    return this.send(this.build.party.revokeKey(this.signer(), p, o), o);
  }
  proposeMembership(p: P.Payloads['governance.propose'], o: SendOptions = {}) {
    return this.send(this.build.governance.propose(this.signer(), p, o), o);
  }
  vote(proposal: Hex, o: SendOptions = {}) {
    return this.send(this.build.governance.vote(this.signer(), { proposal }, o), o);
  }

  defineTemplate(p: Omit<P.DefineTemplatePayload, 'as'>, o: SendOptions = {}) {
    return this.send(this.acting().defineTemplate(p, o), o);
  }
  /** Drafts a contract; the finalized transaction's hash is the contract id. */
  createContract(p: Omit<P.CreateContractPayload, 'as'>, o: SendOptions = {}) {
    return this.send(this.acting().create(p, o), o);
  }
  /** Proposes a motion; the finalized transaction's hash is the motion id. */
  propose(p: Omit<P.ProposePayload, 'as'>, o: SendOptions = {}) {
    return this.send(this.acting().propose(p, o), o);
  }
  approve(motion: Hex, o: SendOptions = {}) {
    return this.send(this.acting().approve(motion, o), o);
  }
  report(p: Omit<P.ReportPayload, 'as'>, o: SendOptions = {}) {
    return this.send(this.acting().report(p, o), o);
  }
  /** A motion to hand to co-signers (no secret in it); propose it later with `proposeDraft`. */
  draftMotion(p: Omit<P.ProposePayload, 'as' | 'cosignatures'>, o: SignOptions = {}): MotionDraft {
    return this.acting().draftMotion(p, o);
  }
  /** This session's co-signature on someone else's drafted motion (offline: nothing is sent). */
  cosign(draft: MotionDraft): P.Cosignature {
    return this.acting().cosign(draft);
  }
  proposeDraft(
    draft: MotionDraft,
    cosignatures: readonly P.Cosignature[],
    o: WaitOptions & { wait?: boolean } = {},
  ) {
    return this.send(this.acting().proposeDraft(draft, cosignatures), o);
  }
}

/** Connects to a node: reads its chain id once, so every transaction is built for that chain. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Session> {
  const api = new TillidClient(url, options);
  const { chainId } = await api.status();
  return new Session(api, transactions(chainId, options), options.key, options.as);
}
