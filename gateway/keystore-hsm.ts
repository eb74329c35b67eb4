/**
 * The gateway's key store in an HSM (PKCS#11): per CVR an Ed25519 submitter key labelled
 * `tillid-submitter-<CVR>` and a 32-byte HMAC secret labelled `tillid-pseudonym-<CVR>`, both
 * generated inside the token as sensitive and non-extractable. The gateway asks the token to sign
 * and to compute pseudonyms (CKM_SHA256_HMAC over the same message as the file store), so neither
 * secret is ever in the gateway's memory or on its disk.
 *
 * Which CVRs the store holds is read from the token's labels at start; `keys create --hsm` adds one.
 * `keys import-to-hsm` moves a file store's keys and secrets in unchanged, so actor pseudonyms
 * already on chain stay linkable for the municipality after the move.
 */
import pkcs11js from 'pkcs11js';
import { HsmError, hsmGenerate, hsmImport, Pkcs11Signer, type TokenConfig } from '../node/custody/pkcs11.ts';
import {
  closeSession,
  codeOf,
  type Module,
  openSession,
  type Session,
  withSession,
} from '../node/custody/pkcs11-session.ts';
import type { Hex } from '../node/protocol/hash.ts';
import type { KeyPair } from '../node/protocol/signature.ts';
import {
  type KeyStore,
  KeyStoreError,
  PSEUDONYM_CONTEXT,
  PseudonymMemo,
  type SubmitterSigner,
} from './keystore.ts';

const SUBMITTER = 'tillid-submitter-';
const PSEUDONYM = 'tillid-pseudonym-';
const CVR = /^\d{8}$/;

const secretAttributes = (label: string): pkcs11js.Template => [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  { type: pkcs11js.CKA_SIGN, value: true },
  { type: pkcs11js.CKA_LABEL, value: label },
];

/** Every object of `kind` on the token whose label starts with `prefix`, by label. */
function labelled(lib: pkcs11js.PKCS11, session: Session, kind: number, prefix: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: kind }]);
  try {
    for (
      let batch = lib.C_FindObjects(session, 256);
      batch.length > 0;
      batch = lib.C_FindObjects(session, 256)
    )
      for (const handle of batch) {
        const [attribute] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_LABEL }]);
        const label = (attribute?.value as Buffer | undefined)?.toString('utf8') ?? '';
        if (!label.startsWith(prefix)) continue;
        if (found.has(label)) throw new HsmError(`the token holds several objects labelled "${label}"`);
        found.set(label, handle);
      }
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  return found;
}

function refuseExisting(token: TokenConfig, cvr: string): void {
  withSession(token, (lib, session) => {
    for (const [kind, prefix] of [
      [pkcs11js.CKO_PRIVATE_KEY, SUBMITTER],
      [pkcs11js.CKO_SECRET_KEY, PSEUDONYM],
    ] as const)
      if (labelled(lib, session, kind, `${prefix}${cvr}`).has(`${prefix}${cvr}`))
        throw new KeyStoreError(`the HSM already holds a key for ${cvr}`);
  });
}

export class HsmKeyStore implements KeyStore {
  readonly #token: TokenConfig;
  readonly #module: Module;
  readonly #session: Session;
  readonly #signers = new Map<string, Pkcs11Signer>();
  readonly #secrets = new Map<string, Buffer>();
  readonly #pseudonyms = new PseudonymMemo();

  private constructor(token: TokenConfig, module: Module, session: Session) {
    this.#token = token;
    this.#module = module;
    this.#session = session;
  }

  /** Generates a submitter key and pseudonym secret for `cvr` inside the token; returns the public key. */
  static create(token: TokenConfig, cvr: string): Hex {
    if (!CVR.test(cvr)) throw new KeyStoreError('a CVR is 8 digits');
    refuseExisting(token, cvr);
    const publicKey = hsmGenerate({ ...token, keyLabel: `${SUBMITTER}${cvr}` });
    withSession(token, (lib, session) =>
      lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, [
        ...secretAttributes(`${PSEUDONYM}${cvr}`),
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      ]),
    );
    return publicKey;
  }

  /** Moves one CVR's key pair and pseudonym secret into the token, where they stay non-extractable. */
  static import(token: TokenConfig, cvr: string, keyPair: KeyPair, pseudonymSecret: Buffer): Hex {
    if (!CVR.test(cvr)) throw new KeyStoreError('a CVR is 8 digits');
    refuseExisting(token, cvr);
    hsmImport({ ...token, keyLabel: `${SUBMITTER}${cvr}` }, keyPair);
    withSession(token, (lib, session) =>
      lib.C_CreateObject(session, [
        ...secretAttributes(`${PSEUDONYM}${cvr}`),
        { type: pkcs11js.CKA_VALUE, value: pseudonymSecret },
      ]),
    );
    return keyPair.publicKey;
  }

  /**
   * Logs in and finds every CVR's key and secret; each key is checked with one signature (as an
   * authority key is). A key without its secret, or the reverse, is refused: it would sign for a
   * party whose users could not be named.
   */
  static open(token: TokenConfig): HsmKeyStore {
    const { module, session } = openSession(token);
    const store = new HsmKeyStore(token, module, session);
    try {
      const { lib } = module;
      const keys = labelled(lib, session, pkcs11js.CKO_PRIVATE_KEY, SUBMITTER);
      const secrets = labelled(lib, session, pkcs11js.CKO_SECRET_KEY, PSEUDONYM);
      const cvrs = [...keys.keys()].map((l) => l.slice(SUBMITTER.length)).filter((c) => CVR.test(c));
      for (const label of secrets.keys())
        if (!keys.has(`${SUBMITTER}${label.slice(PSEUDONYM.length)}`))
          throw new KeyStoreError(`token "${token.token}": ${label} has no submitter key beside it`);
      for (const cvr of cvrs.sort()) {
        const secret = secrets.get(`${PSEUDONYM}${cvr}`);
        if (!secret)
          throw new KeyStoreError(`token "${token.token}": the key for ${cvr} has no pseudonym secret`);
        store.#secrets.set(cvr, secret);
        store.#signers.set(cvr, Pkcs11Signer.open({ ...token, keyLabel: `${SUBMITTER}${cvr}` }));
      }
      return store;
    } catch (e) {
      store.close();
      throw e instanceof HsmError || e instanceof KeyStoreError
        ? e
        : new HsmError(`token "${token.token}": ${codeOf(e)}`);
    }
  }

  cvrs(): readonly string[] {
    return [...this.#signers.keys()];
  }

  signer(cvr: string): SubmitterSigner | undefined {
    return this.#signers.get(cvr);
  }

  pseudonym(cvr: string, identity: string): Hex | undefined {
    return this.#pseudonyms.get(cvr, identity, () => {
      const secret = this.#secrets.get(cvr);
      if (!secret) return undefined;
      const { lib } = this.#module;
      lib.C_SignInit(this.#session, { mechanism: pkcs11js.CKM_SHA256_HMAC }, secret);
      const message = Buffer.from(`${PSEUDONYM_CONTEXT}${identity}`);
      return lib.C_Sign(this.#session, message, Buffer.alloc(32)).toString('hex');
    });
  }

  #closed = false;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const signer of this.#signers.values()) signer.close();
    this.#signers.clear();
    closeSession(this.#token, this.#module, this.#session);
  }

  /** Keeps handles out of JSON and therefore out of logs. */
  toJSON() {
    return { cvrs: this.cvrs(), hsm: { token: this.#token.token } };
  }
}
