/**
 * The gateway's own document store: files on a local volume, each document encrypted at rest under
 * its own random AES-256-GCM key. Keys (with the commitment salt) live apart from the ciphertext, in
 * a key directory that can sit on another volume and can itself be sealed under a master key. To
 * erase a document is to delete its key, salt and ciphertext; its metadata stays, marked erased.
 *
 *   <dir>/meta/<id>.json   DocumentMeta (no secrets, no personal data)
 *   <dir>/blobs/<id>.bin   iv (12) || tag (16) || AES-256-GCM(document key, bytes)
 *                          AAD "tillid/document-blob/v1" 0x00 id 0x00 commitment
 *   <keyDir>/<id>.key      0x00 || key (32) || salt (32)                          without a master key
 *                          0x01 || iv (12) || tag (16) || AES-256-GCM(master, key || salt)
 *                          AAD "tillid/document-key/v1" 0x00 id                   with a master key
 *
 * Every file is written to a temporary name, fsync'ed and renamed (then the directory fsync'ed), so a
 * crash leaves either the old or the new file. The AADs bind each ciphertext to its id (and the blob
 * to its commitment), so files swapped between documents fail authentication.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileDurably } from '../durable-file.ts';
import { DocumentError, type DocumentMeta, type DocumentStore, type StoredDocument } from './store.ts';

export interface FileDocumentStoreOptions {
  /** Metadata and ciphertext go here. */
  readonly dir: string;
  /** Document keys and salts; default `<dir>/keys`. Put it on another volume to keep keys apart. */
  readonly keyDir?: string;
  /**
   * 32 bytes. When given, key files are sealed under it; without it they are plain (mode 600). Read
   * it from a file or secret the operator controls; it is never logged.
   */
  readonly masterKey?: Uint8Array;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BLOB_AAD = 'tillid/document-blob/v1';
const KEY_AAD = 'tillid/document-key/v1';
const KEY_PLAIN = 0x00;
const KEY_SEALED = 0x01;

const aad = (...parts: string[]): Buffer => Buffer.from(parts.join('\0'), 'utf8');

function seal(key: Uint8Array, plaintext: Uint8Array, additional: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additional);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function unseal(key: Uint8Array, sealed: Buffer, additional: Buffer, what: string): Buffer {
  if (sealed.length < 28) throw new DocumentError('DOCUMENT_HASH_MISMATCH', `${what} is truncated`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(additional);
  decipher.setAuthTag(sealed.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch {
    throw new DocumentError('DOCUMENT_HASH_MISMATCH', `${what} fails authentication: it was altered`);
  }
}

/** Overwrites a small secret file with zeros before unlinking it (best effort on journaled or
 * copy-on-write file systems, which may keep old blocks; see README). */
async function shred(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const { size } = await handle.stat();
    await handle.write(Buffer.alloc(size), 0, size, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await unlink(path);
}

async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

export class FileDocumentStore implements DocumentStore {
  readonly #metaDir: string;
  readonly #blobDir: string;
  readonly #keyDir: string;
  readonly #masterKey: Buffer | undefined;
  /** commitment → id, built when the store opens and kept by `put` (metadata is never removed). */
  readonly #byCommitment = new Map<string, string>();

  private constructor(options: FileDocumentStoreOptions) {
    this.#metaDir = join(options.dir, 'meta');
    this.#blobDir = join(options.dir, 'blobs');
    this.#keyDir = options.keyDir ?? join(options.dir, 'keys');
    if (options.masterKey !== undefined && options.masterKey.length !== 32) {
      throw new RangeError('the document master key is 32 bytes');
    }
    this.#masterKey = options.masterKey ? Buffer.from(options.masterKey) : undefined;
  }

  /** Opens (creating) the directories and finishes any erasure a crash interrupted. */
  static async open(options: FileDocumentStoreOptions): Promise<FileDocumentStore> {
    const store = new FileDocumentStore(options);
    for (const dir of [store.#metaDir, store.#blobDir, store.#keyDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    for (const name of await readdir(store.#metaDir)) {
      if (!name.endsWith('.json')) continue;
      const meta = await store.meta(name.slice(0, -5));
      if (meta) store.#byCommitment.set(meta.commitment, meta.id);
      if (meta?.erased) await store.#removeContent(meta.id);
    }
    return store;
  }

  #paths(id: string) {
    if (!ID.test(id)) throw new DocumentError('DOCUMENT_NOT_FOUND', 'no such document');
    return {
      meta: join(this.#metaDir, `${id}.json`),
      blob: join(this.#blobDir, `${id}.bin`),
      key: join(this.#keyDir, `${id}.key`),
    };
  }

  async put(doc: StoredDocument): Promise<void> {
    const { meta } = doc;
    const paths = this.#paths(meta.id);
    const key = randomBytes(32);
    const keyMaterial = Buffer.concat([key, doc.salt]);
    const keyFile = this.#masterKey
      ? Buffer.concat([Buffer.of(KEY_SEALED), seal(this.#masterKey, keyMaterial, aad(KEY_AAD, meta.id))])
      : Buffer.concat([Buffer.of(KEY_PLAIN), keyMaterial]);
    const blob = seal(key, doc.bytes, aad(BLOB_AAD, meta.id, meta.commitment));
    // Key, then content, then metadata: a document exists once its metadata does.
    await writeFileDurably(paths.key, keyFile, this.#keyDir);
    await writeFileDurably(paths.blob, blob, this.#blobDir);
    await writeFileDurably(paths.meta, JSON.stringify(meta), this.#metaDir);
    this.#byCommitment.set(meta.commitment, meta.id);
    keyMaterial.fill(0);
    key.fill(0);
  }

  async meta(id: string): Promise<DocumentMeta | undefined> {
    if (!ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.#paths(id).meta, 'utf8')) as DocumentMeta;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async idOf(commitment: string): Promise<string | undefined> {
    return this.#byCommitment.get(commitment);
  }

  async get(id: string): Promise<{ salt: Buffer; bytes: Buffer } | undefined> {
    const meta = await this.meta(id);
    if (!meta || meta.erased) return undefined;
    const paths = this.#paths(id);
    let keyFile: Buffer;
    let blob: Buffer;
    try {
      [keyFile, blob] = await Promise.all([readFile(paths.key), readFile(paths.blob)]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DocumentError(
          'DOCUMENT_HASH_MISMATCH',
          'the stored document is incomplete (key or content missing)',
        );
      }
      throw e;
    }
    const keyMaterial = this.#openKeyFile(id, keyFile);
    const key = keyMaterial.subarray(0, 32);
    const salt = Buffer.from(keyMaterial.subarray(32, 64));
    try {
      const bytes = unseal(key, blob, aad(BLOB_AAD, id, meta.commitment), 'the stored document');
      return { salt, bytes };
    } finally {
      keyMaterial.fill(0);
    }
  }

  #openKeyFile(id: string, file: Buffer): Buffer {
    if (file[0] === KEY_SEALED) {
      if (!this.#masterKey) throw new Error('document keys are sealed but no master key is configured');
      const material = unseal(this.#masterKey, file.subarray(1), aad(KEY_AAD, id), 'the document key');
      if (material.length !== 64)
        throw new DocumentError('DOCUMENT_HASH_MISMATCH', 'the document key is malformed');
      return material;
    }
    if (file[0] === KEY_PLAIN && file.length === 65) return Buffer.from(file.subarray(1));
    throw new DocumentError('DOCUMENT_HASH_MISMATCH', 'the document key file is malformed');
  }

  async erase(id: string, erased: { at: string; by: string }): Promise<void> {
    const meta = await this.meta(id);
    if (!meta) throw new DocumentError('DOCUMENT_NOT_FOUND', 'no such document');
    // Mark first: a crash between here and the deletions leaves a document that reads as erased,
    // and the next open() (or erase) removes what is left.
    if (!meta.erased) {
      await writeFileDurably(this.#paths(id).meta, JSON.stringify({ ...meta, erased }), this.#metaDir);
    }
    await this.#removeContent(id);
  }

  async #removeContent(id: string): Promise<void> {
    const paths = this.#paths(id);
    await shred(paths.key);
    await fsyncDir(this.#keyDir);
    await removeIfPresent(paths.blob);
    await fsyncDir(this.#blobDir);
  }
}
