/**
 * The municipalities' submitter keys and pseudonym secrets, for the gateway's second signing mode
 * (it signs on the caller's behalf). Behind `KeyStore`, so an HSM can take the file store's place:
 * an HSM signs Ed25519 and computes HMAC-SHA256 without the keys ever leaving it.
 *
 * The file store keeps one file per CVR, encrypted at rest (node/custody/sealed.ts, as authority
 * key files): scrypt derives a key from the passphrase and a per-file salt, AES-256-GCM encrypts
 * the private key and the pseudonym secret, and the CVR and public key are the authenticated data,
 * so a file cannot be moved to another CVR.
 * The gateway never holds an authority key: a submitter key is registered on chain by the
 * municipality (`party.register` / `party.addKey`) and can be revoked there.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SealError, type Sealed, seal, unseal } from '../node/custody/sealed.ts';
import type { Hex } from '../node/protocol/hash.ts';
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromSeed,
  type MessageSigner,
  Signer,
} from '../node/protocol/signature.ts';

/** Signs transactions for one party (CVR): the one signer interface (node/protocol/signature.ts). */
export type SubmitterSigner = MessageSigner;

export interface KeyStore {
  /** The CVRs the store holds a submitter key for. */
  cvrs(): readonly string[];
  signer(cvr: string): SubmitterSigner | undefined;
  /**
   * The pseudonymous actor id for `identity` (a user or system id) acting for `cvr`:
   * HMAC-SHA256 under the CVR's secret, 64 hex. Without the secret the id links to nobody; deleting
   * the secret makes every actor id of that CVR unlinkable.
   */
  pseudonym(cvr: string, identity: string): Hex | undefined;
  /** Ends what the store holds open (an HSM's sessions); a file store holds nothing. */
  close?(): void;
}

/** What a pseudonym's HMAC is taken over, before the identity: the same in every store. */
export const PSEUDONYM_CONTEXT = 'tillid/actor/v1\n';

/** Pseudonyms already derived, by CVR and identity: a busy system asks for the same few over and over. */
export class PseudonymMemo {
  readonly #known = new Map<string, Hex>();
  get(cvr: string, identity: string, derive: () => Hex | undefined): Hex | undefined {
    const key = `${cvr}\n${identity}`;
    const known = this.#known.get(key);
    if (known) return known;
    const pseudonym = derive();
    if (pseudonym === undefined) return undefined;
    if (this.#known.size >= 100_000) this.#known.clear();
    this.#known.set(key, pseudonym);
    return pseudonym;
  }
}

/** One CVR's secrets, unsealed: only for moving them into an HSM (`keys import-to-hsm`). */
export interface KeyStoreEntry {
  readonly cvr: string;
  readonly keyPair: KeyPair;
  readonly pseudonymSecret: Buffer;
}

/** The sealing (scrypt, AES-256-GCM) is node/custody/sealed.ts's, shared with authority key files. */
interface KeyFile extends Sealed {
  readonly version: 1;
  readonly cvr: string;
  readonly publicKey: Hex;
}

const fileOf = (dir: string, cvr: string) => join(dir, `${cvr}.key.json`);
const aad = (cvr: string, publicKey: Hex) => Buffer.from(`tillid-gateway-key/v1\n${cvr}\n${publicKey}`);

export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

export class FileKeyStore implements KeyStore {
  readonly #signers = new Map<string, Signer>();
  readonly #secrets = new Map<string, Buffer>();
  readonly #pseudonyms = new PseudonymMemo();

  private constructor() {}

  /** Generates a submitter key and pseudonym secret for `cvr`, encrypted; returns the public key. */
  static create(dir: string, passphrase: string, cvr: string): Hex {
    if (!/^\d{8}$/.test(cvr)) throw new KeyStoreError('a CVR is 8 digits');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(fileOf(dir, cvr))) throw new KeyStoreError(`the key store already holds a key for ${cvr}`);
    const keyPair = generateKeyPair();
    const plaintext = Buffer.from(
      JSON.stringify({ privateKey: keyPair.privateKey, pseudonymSecret: randomBytes(32).toString('hex') }),
    );
    const file: KeyFile = {
      version: 1,
      cvr,
      publicKey: keyPair.publicKey,
      ...seal(plaintext, passphrase, aad(cvr, keyPair.publicKey)),
    };
    plaintext.fill(0);
    writeFileSync(fileOf(dir, cvr), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(fileOf(dir, cvr), 0o600);
    return keyPair.publicKey;
  }

  /** The public key stored for `cvr` (readable without the passphrase: it is public). */
  static publicKeyOf(dir: string, cvr: string): Hex | undefined {
    if (!existsSync(fileOf(dir, cvr))) return undefined;
    return (JSON.parse(readFileSync(fileOf(dir, cvr), 'utf8')) as KeyFile).publicKey;
  }

  /** Opens every key file in `dir`; a wrong passphrase or a tampered file fails loudly. */
  static open(dir: string, passphrase: string): FileKeyStore {
    const store = new FileKeyStore();
    for (const { cvr, keyPair, pseudonymSecret } of FileKeyStore.entries(dir, passphrase)) {
      store.#signers.set(cvr, new Signer(keyPair));
      store.#secrets.set(cvr, pseudonymSecret);
    }
    return store;
  }

  /** Every CVR's key pair and pseudonym secret in `dir`, unsealed and checked, in CVR order. */
  static entries(dir: string, passphrase: string): KeyStoreEntry[] {
    if (!existsSync(dir)) return [];
    const entries: KeyStoreEntry[] = [];
    for (const name of readdirSync(dir)
      .filter((f) => f.endsWith('.key.json'))
      .sort()) {
      const file = JSON.parse(readFileSync(join(dir, name), 'utf8')) as KeyFile;
      if (file.version !== 1 || file.kdf?.name !== 'scrypt' || file.cipher?.name !== 'aes-256-gcm')
        throw new KeyStoreError(`${name}: unknown key file format`);
      let plaintext: Buffer;
      try {
        plaintext = unseal(file, passphrase, aad(file.cvr, file.publicKey));
      } catch (e) {
        if (e instanceof SealError)
          throw new KeyStoreError(`${name}: wrong passphrase or the file was altered`);
        throw e;
      }
      const { privateKey, pseudonymSecret } = JSON.parse(plaintext.toString('utf8'));
      plaintext.fill(0);
      const keyPair = keyPairFromSeed(Buffer.from(privateKey, 'hex'));
      if (keyPair.publicKey !== file.publicKey)
        throw new KeyStoreError(`${name}: key does not match its public key`);
      entries.push({ cvr: file.cvr, keyPair, pseudonymSecret: Buffer.from(pseudonymSecret, 'hex') });
    }
    return entries;
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
      return secret && createHmac('sha256', secret).update(`${PSEUDONYM_CONTEXT}${identity}`).digest('hex');
    });
  }

  /** Keeps keys out of JSON and therefore out of logs. */
  toJSON() {
    return { cvrs: this.cvrs() };
  }
}
