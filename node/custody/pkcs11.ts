/**
 * Ed25519 keys in an HSM through PKCS#11 (CKM_EDDSA, PKCS#11 3.0), tested against SoftHSM2. The
 * private key is generated in (or imported into) the token as sensitive and non-extractable; the
 * node only ever asks the token to sign. Signing is synchronous (pkcs11js calls C_Sign directly),
 * so an HSM signer fits the same `MessageSigner` as a key file and consensus does not change.
 *
 * Configuration: the module (the vendor's PKCS#11 library), the token's label, the key's label
 * (CKA_LABEL, on both the private and the public key object) and a file holding the user PIN.
 */
import pkcs11js from 'pkcs11js';
import type { Hex } from '../protocol/hash.ts';
import {
  isValidPublicKey,
  type KeyPair,
  type MessageSigner,
  verifySignature,
} from '../protocol/signature.ts';
import {
  closeSession,
  codeOf,
  find,
  HsmError,
  type Module,
  openSession,
  type Session,
  type TokenConfig,
  withSession,
} from './pkcs11-session.ts';

export { HsmError, SOFTHSM2_MODULE, type TokenConfig } from './pkcs11-session.ts';

/** An Ed25519 key on a token: the token and the key's label (CKA_LABEL). */
export interface HsmConfig extends TokenConfig {
  /** The key's label on the token. */
  readonly keyLabel: string;
}

// PKCS#11 3.0 values pkcs11js does not name yet.
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;
/** CKA_EC_PARAMS for Ed25519: the DER encoding of OID 1.3.101.112 (RFC 8410). */
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');

const keysLabelled = (lib: pkcs11js.PKCS11, session: Session, label: string, kind: number) =>
  find(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: kind },
    { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);

/** CKA_EC_POINT is a DER OCTET STRING (04 20 ‖ key) by the standard; some tokens return it bare. */
function publicKeyOf(lib: pkcs11js.PKCS11, session: Session, handle: Buffer): Hex {
  const [attribute] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_EC_POINT }]);
  const point = attribute?.value as Buffer | undefined;
  if (point?.length === 34 && point[0] === 0x04 && point[1] === 0x20)
    return point.subarray(2).toString('hex');
  if (point?.length === 32) return point.toString('hex');
  throw new HsmError('the public key object holds no Ed25519 point');
}

/** Signs with an Ed25519 key held by a PKCS#11 token. Close it to end its session. */
export class Pkcs11Signer implements MessageSigner {
  readonly publicKey: Hex;
  readonly #config: HsmConfig;
  readonly #module: Module;
  readonly #session: Session;
  readonly #key: Buffer;
  #closed = false;

  private constructor(config: HsmConfig, module: Module, session: Session, key: Buffer, publicKey: Hex) {
    this.#config = config;
    this.#module = module;
    this.#session = session;
    this.#key = key;
    this.publicKey = publicKey;
  }

  /** Logs in and finds the key; checks with one signature that the key pair on the token matches. */
  static open(config: HsmConfig): Pkcs11Signer {
    const { module, session } = openSession(config);
    const { lib } = module;
    try {
      const [key, ...more] = keysLabelled(lib, session, config.keyLabel, pkcs11js.CKO_PRIVATE_KEY);
      if (!key)
        throw new HsmError(
          `token "${config.token}" holds no Ed25519 private key labelled "${config.keyLabel}"`,
        );
      if (more.length > 0)
        throw new HsmError(
          `token "${config.token}" holds several private keys labelled "${config.keyLabel}"`,
        );
      const [pub] = keysLabelled(lib, session, config.keyLabel, pkcs11js.CKO_PUBLIC_KEY);
      if (!pub)
        throw new HsmError(`token "${config.token}" holds no public key labelled "${config.keyLabel}"`);
      const publicKey = publicKeyOf(lib, session, pub);
      const signer = new Pkcs11Signer(config, module, session, key, publicKey);
      const probe = Buffer.from('tillid/hsm-self-test/v1');
      if (!isValidPublicKey(publicKey) || !verifySignature(publicKey, probe, signer.sign(probe)))
        throw new HsmError(
          `token "${config.token}": key "${config.keyLabel}" does not sign for its public key`,
        );
      return signer;
    } catch (e) {
      closeSession(config, module, session);
      throw e instanceof HsmError ? e : new HsmError(`token "${config.token}": ${codeOf(e)}`);
    }
  }

  sign(message: Uint8Array): Hex {
    if (this.#closed) throw new HsmError('the HSM session is closed');
    const lib = this.#module.lib;
    lib.C_SignInit(this.#session, { mechanism: CKM_EDDSA }, this.#key);
    return lib.C_Sign(this.#session, Buffer.from(message), Buffer.alloc(64)).toString('hex');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // No C_Logout: login is per token for the whole process, and would end other sessions' login
    // too; closing the last session logs out (PKCS#11 §5.6).
    closeSession(this.#config, this.#module, this.#session);
  }

  toJSON() {
    return { publicKey: this.publicKey, hsm: { token: this.#config.token, keyLabel: this.#config.keyLabel } };
  }
}

function refuseExisting(lib: pkcs11js.PKCS11, session: Session, config: HsmConfig): void {
  for (const kind of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY])
    if (keysLabelled(lib, session, config.keyLabel, kind).length > 0)
      throw new HsmError(`token "${config.token}" already holds a key labelled "${config.keyLabel}"`);
}

const privateAttributes = (label: string): pkcs11js.Template => [
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  { type: pkcs11js.CKA_SIGN, value: true },
  { type: pkcs11js.CKA_LABEL, value: label },
];

const publicAttributes = (label: string): pkcs11js.Template => [
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_VERIFY, value: true },
  { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_PARAMS },
  { type: pkcs11js.CKA_LABEL, value: label },
];

/** Generates a key inside the token (it never exists outside it); returns its public key. */
export function hsmGenerate(config: HsmConfig): Hex {
  return withSession(config, (lib, session) => {
    refuseExisting(lib, session, config);
    const { publicKey } = lib.C_GenerateKeyPair(
      session,
      { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
      publicAttributes(config.keyLabel),
      privateAttributes(config.keyLabel),
    );
    return publicKeyOf(lib, session, publicKey);
  });
}

/**
 * Imports an existing key (an authority already in the genesis moving its key into an HSM, which
 * keeps its identity; a new key would need a rotation). Stored non-extractable from then on.
 */
export function hsmImport(config: HsmConfig, keyPair: KeyPair): Hex {
  return withSession(config, (lib, session) => {
    refuseExisting(lib, session, config);
    const seed = Buffer.from(keyPair.privateKey, 'hex');
    try {
      lib.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
        { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_PARAMS },
        { type: pkcs11js.CKA_VALUE, value: seed },
        ...privateAttributes(config.keyLabel),
      ]);
    } finally {
      seed.fill(0);
    }
    lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
      {
        type: pkcs11js.CKA_EC_POINT,
        value: Buffer.concat([Buffer.from([0x04, 0x20]), Buffer.from(keyPair.publicKey, 'hex')]),
      },
      ...publicAttributes(config.keyLabel),
    ]);
    return keyPair.publicKey;
  });
}
