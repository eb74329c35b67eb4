/**
 * Documents off chain: upload, download and erasure, whatever store holds the bytes.
 *
 * Upload computes the salted commitment (`commitment.ts`), stores document and salt through the
 * `DocumentStore`, and — when asked — anchors the commitment on chain through the `submit` callback.
 * Otherwise the caller puts the returned commitment in `contract.create` / `contract.report` as
 * `document`. Download checks the caller's rights, then recomputes the commitment from what the
 * store returned and refuses (`DOCUMENT_HASH_MISMATCH`) when it differs. Erasure deletes content,
 * salt and key, appends a durable record to the erasure log and anchors a salted erasure hash.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Caller } from '../caller.ts';
import { documentCommitment, erasureCommitment, newSalt, sameCommitment } from './commitment.ts';
import { DocumentError, type DocumentMeta, type DocumentStore } from './store.ts';

export type DocumentAction = 'upload' | 'download' | 'erase';

/** What an authorisation decision sees: for an upload, the document about to be stored. */
export interface DocumentSubject {
  readonly owner: string;
  readonly contract?: string;
  readonly docType: string;
}

/** Decides whether `caller` may do `action` to the document; false gives 403 DOCUMENT_FORBIDDEN. */
export type AuthorizeDocument = (
  caller: Caller,
  action: DocumentAction,
  document: DocumentSubject,
) => boolean | Promise<boolean>;

/** The one kind of transaction the document service asks for: an anchor of a hash. */
export interface AnchorSubmission {
  readonly type: 'anchor.record';
  readonly payload: { readonly hash: string; readonly docType: string; readonly ref: string };
}

/**
 * Signs (on the caller's municipality's behalf) and submits a transaction; resolves with its hash
 * once the node admitted it. Throw an error with `code` and `status` to refuse; it reaches the
 * client unchanged.
 */
export type SubmitToChain = (caller: Caller, tx: AnchorSubmission) => Promise<{ hash: string }>;

export interface DocumentServiceOptions {
  readonly store: DocumentStore;
  readonly authorize: AuthorizeDocument;
  /** Without it, nothing is anchored by the document service (uploads with `anchor` are refused). */
  readonly submit?: SubmitToChain;
  /** Path of the erasure log (JSON lines, appended and fsync'ed). */
  readonly erasureLog: string;
  /** Largest document in bytes; default 25 MiB. */
  readonly maxBytes?: number;
  readonly now?: () => Date;
  /**
   * Told of every download served (after the rights and commitment checks), before the bytes
   * leave: the gateway records a read of a case's document in the case's access log here.
   */
  readonly onDownload?: (caller: Caller, meta: DocumentMeta) => Promise<void>;
}

/** One line of the erasure log per erasure (and one more once its on-chain record is known). */
export interface ErasureRecord {
  readonly erasure: string;
  readonly document: string;
  readonly commitment: string;
  readonly owner: string;
  readonly contract?: string;
  readonly docType: string;
  readonly erasedAt: string;
  /** CVR and calling system that asked for the erasure; never a person. */
  readonly by: { readonly cvr: string; readonly system: string; readonly transactionId: string };
  /** Salt of `erasureHash`; with it the owner can show an auditor which commitment was erased. */
  readonly erasureSalt: string;
  readonly erasureHash: string;
  readonly anchorTx?: string;
  readonly anchorError?: { readonly code: string; readonly message: string };
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 25 * 1024 * 1024;
const DOC_TYPE = /^[a-z][a-z0-9._-]{0,63}$/;
const CONTRACT = /^[0-9a-f]{64}$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;

export interface UploadInput {
  readonly bytes: Buffer;
  readonly docType: string;
  readonly mediaType?: string;
  readonly contract?: string;
  /** Anchor the commitment with `anchor.record` now (docType and `ref` tillid:document:<id>). */
  readonly anchor?: boolean;
}

export class DocumentService {
  readonly maxBytes: number;
  readonly #store: DocumentStore;
  readonly #authorize: AuthorizeDocument;
  readonly #submit: SubmitToChain | undefined;
  readonly #erasureLog: string;
  readonly #now: () => Date;
  readonly #onDownload: DocumentServiceOptions['onDownload'];

  constructor(options: DocumentServiceOptions) {
    this.#store = options.store;
    this.#authorize = options.authorize;
    this.#submit = options.submit;
    this.#erasureLog = options.erasureLog;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
    this.#now = options.now ?? (() => new Date());
    this.#onDownload = options.onDownload;
  }

  async upload(caller: Caller, input: UploadInput): Promise<{ meta: DocumentMeta; anchorTx?: string }> {
    if (input.bytes.length === 0) throw new DocumentError('DOCUMENT_EMPTY', 'the document is empty');
    if (input.bytes.length > this.maxBytes) {
      throw new DocumentError('DOCUMENT_TOO_LARGE', `documents are at most ${this.maxBytes} bytes`);
    }
    if (!DOC_TYPE.test(input.docType)) {
      throw new DocumentError('BAD_REQUEST', 'docType must be a short code such as status-report');
    }
    if (input.contract !== undefined && !CONTRACT.test(input.contract)) {
      throw new DocumentError('BAD_REQUEST', 'contract must be a contract id (64 lowercase hex)');
    }
    const mediaType = (input.mediaType ?? 'application/octet-stream').split(';')[0]?.trim().toLowerCase();
    if (!mediaType || !MEDIA_TYPE.test(mediaType))
      throw new DocumentError('BAD_REQUEST', 'unusable media type');
    if (input.anchor && !this.#submit) {
      throw new DocumentError('BAD_REQUEST', 'this gateway does not anchor documents itself');
    }
    const subject: DocumentSubject = {
      owner: caller.cvr,
      docType: input.docType,
      ...(input.contract ? { contract: input.contract } : {}),
    };
    await this.#check(caller, 'upload', subject);

    const salt = newSalt();
    const meta: DocumentMeta = {
      id: randomUUID(),
      commitment: documentCommitment(salt, input.bytes),
      ...subject,
      mediaType,
      size: input.bytes.length,
      createdAt: this.#now().toISOString(),
    };
    try {
      await this.#store.put({ meta, salt, bytes: input.bytes });
    } finally {
      salt.fill(0);
    }
    if (!input.anchor || !this.#submit) return { meta };
    try {
      const { hash } = await this.#submit(caller, {
        type: 'anchor.record',
        payload: { hash: meta.commitment, docType: meta.docType, ref: `tillid:document:${meta.id}` },
      });
      return { meta, anchorTx: hash };
    } catch (e) {
      // Nothing reached the chain, so nothing refers to the stored copy: remove it.
      await this.#store.erase(meta.id, { at: this.#now().toISOString(), by: 'gateway:anchor-refused' });
      throw e;
    }
  }

  /** Metadata of a document the caller may read (also when erased). */
  async meta(caller: Caller, id: string): Promise<DocumentMeta> {
    const meta = await this.#store.meta(id);
    if (!meta) throw new DocumentError('DOCUMENT_NOT_FOUND', 'no such document');
    await this.#check(caller, 'download', meta);
    return meta;
  }

  async download(caller: Caller, id: string): Promise<{ meta: DocumentMeta; salt: Buffer; bytes: Buffer }> {
    const meta = await this.meta(caller, id);
    if (meta.erased)
      throw new DocumentError('DOCUMENT_ERASED', `the document was erased at ${meta.erased.at}`);
    const content = await this.#store.get(id);
    if (!content) throw new DocumentError('DOCUMENT_ERASED', 'the document content is gone');
    if (!sameCommitment(documentCommitment(content.salt, content.bytes), meta.commitment)) {
      throw new DocumentError(
        'DOCUMENT_HASH_MISMATCH',
        'the stored document does not match its commitment; it was altered and is not served',
      );
    }
    await this.#onDownload?.(caller, meta);
    return { meta, ...content };
  }

  /**
   * An auditor's document check: whether `bytes` are the document behind an on-chain `commitment`.
   * The salt never leaves the store; the answer is only the verdict (and the document's metadata,
   * which the caller may read). `unknown` when this gateway's store never held that commitment.
   */
  async check(
    caller: Caller,
    commitment: string,
    bytes: Buffer,
  ): Promise<{ verdict: 'match' | 'mismatch' | 'unknown' | 'erased'; meta?: DocumentMeta }> {
    const id = await this.#store.idOf?.(commitment);
    if (id === undefined) return { verdict: 'unknown' };
    const meta = await this.meta(caller, id);
    if (meta.erased) return { verdict: 'erased', meta };
    const content = await this.#store.get(id);
    if (!content) return { verdict: 'erased', meta };
    const same = sameCommitment(documentCommitment(content.salt, bytes), commitment);
    return { verdict: same ? 'match' : 'mismatch', meta };
  }

  async erase(caller: Caller, id: string): Promise<ErasureRecord> {
    const meta = await this.#store.meta(id);
    if (!meta) throw new DocumentError('DOCUMENT_NOT_FOUND', 'no such document');
    await this.#check(caller, 'erase', meta);
    if (meta.erased)
      throw new DocumentError('DOCUMENT_ERASED', `the document was erased at ${meta.erased.at}`);
    const erasedAt = this.#now().toISOString();
    const erasureSalt = randomBytes(32);
    let record: ErasureRecord = {
      erasure: randomUUID(),
      document: meta.id,
      commitment: meta.commitment,
      owner: meta.owner,
      ...(meta.contract ? { contract: meta.contract } : {}),
      docType: meta.docType,
      erasedAt,
      by: { cvr: caller.cvr, system: caller.system, transactionId: caller.transactionId },
      erasureSalt: erasureSalt.toString('hex'),
      erasureHash: erasureCommitment(erasureSalt, meta.commitment, erasedAt),
    };
    // The record is durable before anything is deleted; deletion comes before the chain, so an
    // unreachable node never keeps a document alive.
    await this.#appendLog(record);
    await this.#store.erase(id, { at: erasedAt, by: caller.cvr });
    if (this.#submit) {
      try {
        const { hash } = await this.#submit(caller, {
          type: 'anchor.record',
          payload: { hash: record.erasureHash, docType: 'erasure', ref: `tillid:erasure:${record.erasure}` },
        });
        record = { ...record, anchorTx: hash };
      } catch (e) {
        const err = e as { code?: unknown; message?: unknown };
        record = {
          ...record,
          anchorError: { code: String(err.code ?? 'INTERNAL'), message: String(err.message ?? e) },
        };
      }
      await this.#appendLog(record);
    }
    return record;
  }

  async #check(caller: Caller, action: DocumentAction, subject: DocumentSubject): Promise<void> {
    const allowed = await this.#authorize(caller, action, {
      owner: subject.owner,
      docType: subject.docType,
      ...(subject.contract ? { contract: subject.contract } : {}),
    });
    if (!allowed) {
      throw new DocumentError(
        'DOCUMENT_FORBIDDEN',
        `organisation ${caller.cvr} may not ${action} this document`,
      );
    }
  }

  async #appendLog(record: ErasureRecord): Promise<void> {
    const handle = await open(this.#erasureLog, 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** The parties of a contract as the chain records them; undefined when there is no such contract. */
export type ContractParties = (
  contract: string,
) => Promise<{ readonly municipality: string; readonly provider: string } | undefined>;

/**
 * The default rights: the owner (uploading organisation) may read and erase its document; when the
 * document belongs to a contract, both parties may read it and the contract's municipality — the
 * authority responsible for the case — may erase it. Uploading for a contract needs the caller to be
 * one of its parties. Role checks (an auditor may only read, …) belong to the gateway's own
 * authorisation; wrap this function to add them.
 */
export function ownerOrContractParties(parties: ContractParties): AuthorizeDocument {
  return async (caller, action, document) => {
    if (action === 'upload') {
      if (document.contract === undefined) return true;
      const p = await parties(document.contract);
      return p !== undefined && (p.municipality === caller.cvr || p.provider === caller.cvr);
    }
    if (document.owner === caller.cvr) return true;
    if (document.contract === undefined) return false;
    const p = await parties(document.contract);
    if (!p) return false;
    if (action === 'erase') return p.municipality === caller.cvr;
    return p.municipality === caller.cvr || p.provider === caller.cvr;
  };
}
