/**
 * Where documents live off chain. `DocumentStore` is the adapter a municipality's own document
 * system (an ESDH, a case system's archive) implements to keep documents there instead of in the
 * gateway's file store (`file-store.ts`). The gateway never trusts an adapter for integrity: the
 * document service recomputes the salted commitment on every download (`service.ts`).
 */
import { GatewayError, type GatewayErrorCode } from '../errors.ts';

/** Facts about a stored document. No personal data: no file names, no titles, no free text. */
export interface DocumentMeta {
  /** A random UUID: reveals nothing about the document. */
  readonly id: string;
  /** The salted commitment (hex), the value that goes on the chain (`commitment.ts`). */
  readonly commitment: string;
  /** CVR of the organisation that uploaded it (the data controller's side of the upload). */
  readonly owner: string;
  /** The contract it belongs to (its id, 64 hex), when it belongs to one: its parties may read it. */
  readonly contract?: string;
  /** A short code such as `status-report` or `contract` (same alphabet as the chain's docType). */
  readonly docType: string;
  readonly mediaType: string;
  readonly size: number;
  readonly createdAt: string;
  /** Set once erased: content, salt and key are gone, only these facts remain. */
  readonly erased?: { readonly at: string; readonly by: string };
}

export interface StoredDocument {
  readonly meta: DocumentMeta;
  /** The commitment's 32-byte salt: as secret as the document, and erased with it. */
  readonly salt: Buffer;
  readonly bytes: Buffer;
}

export interface DocumentStore {
  /** Stores a new document under `doc.meta.id`; durable once the promise resolves. */
  put(doc: StoredDocument): Promise<void>;
  /** Metadata, also of an erased document (then with `erased`); undefined for an unknown id. */
  meta(id: string): Promise<DocumentMeta | undefined>;
  /**
   * Content and salt; undefined when the document is unknown or erased. An adapter that detects
   * tampering itself (an authentication tag that fails) throws `DocumentError('DOCUMENT_HASH_MISMATCH')`.
   */
  get(id: string): Promise<{ salt: Buffer; bytes: Buffer } | undefined>;
  /**
   * Removes content, salt and any key for good and marks the metadata erased. Idempotent: erasing
   * again finishes an erasure a crash interrupted.
   */
  erase(id: string, erased: { at: string; by: string }): Promise<void>;
  /**
   * The id of the document with this commitment, when this store holds (or held) it. Optional: an
   * auditor's document check (the console) needs it to find the salt; without it the check says
   * the gateway cannot tell.
   */
  idOf?(commitment: string): Promise<string | undefined>;
}

export type DocumentErrorCode = Extract<
  GatewayErrorCode,
  | 'AUTH_REQUIRED'
  | 'BAD_REQUEST'
  | 'DOCUMENT_EMPTY'
  | 'DOCUMENT_TOO_LARGE'
  | 'DOCUMENT_FORBIDDEN'
  | 'DOCUMENT_NOT_FOUND'
  | 'DOCUMENT_ERASED'
  | 'DOCUMENT_HASH_MISMATCH'
  | 'DOCUMENT_STORE_FAILED'
>;

/** An error of the document store or routes; its status is the gateway's (gateway/errors.ts). */
export class DocumentError extends GatewayError {
  declare readonly code: DocumentErrorCode;
  constructor(code: DocumentErrorCode, message: string) {
    super(code, message);
    this.name = 'DocumentError';
  }
}
