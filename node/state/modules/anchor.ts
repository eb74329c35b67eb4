/**
 * `anchor`: records that a document with a given hash exists, with a short type code and an opaque
 * reference to where it lives off chain. No content, no personal data: the hash should be a salted
 * commitment whose salt is kept off chain, so erasing the salt makes the anchor unlinkable.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import type { Action, Module, StateReader } from '../module.ts';

export interface AnchorRecord {
  readonly hash: Hex;
  readonly docType: string;
  readonly ref: string;
  readonly signer: Hex;
  readonly height: number;
  readonly timestamp: number;
  readonly txHash: Hex;
}

const DOC_TYPE = /^[a-z][a-z0-9._-]{0,63}$/;
// An opaque reference (a document-system id, a URN). Free text is not allowed: no spaces.
const REF = /^[A-Za-z0-9._:/#-]{1,128}$/;

export const anchorKey = (hash: Hex): string => `anchor/${hash}`;

const invalid = (message: string) => new TillidError('TX_PAYLOAD_INVALID', message);

const recordAction: Action = {
  check(payload: JsonObject) {
    const keys = Object.keys(payload);
    for (const k of keys)
      if (!['hash', 'docType', 'ref'].includes(k)) throw invalid(`anchor.record: unknown field ${k}`);
    if (typeof payload.hash !== 'string' || !/^[0-9a-f]{64}$/.test(payload.hash)) {
      throw invalid('anchor.record: hash must be 32 bytes of lowercase hex');
    }
    if (typeof payload.docType !== 'string' || !DOC_TYPE.test(payload.docType)) {
      throw invalid('anchor.record: docType must be a short code, e.g. status-report');
    }
    if (typeof payload.ref !== 'string' || !REF.test(payload.ref)) {
      throw invalid('anchor.record: ref must be an opaque reference of 1-128 characters [A-Za-z0-9._:/#-]');
    }
  },
  apply(state, tx, ctx) {
    const hash = tx.payload.hash as Hex;
    if (state.get(anchorKey(hash)) !== undefined) {
      throw new TillidError('ANCHOR_EXISTS', `a document with hash ${hash} is already anchored`);
    }
    const record: AnchorRecord = {
      hash,
      docType: tx.payload.docType as string,
      ref: tx.payload.ref as string,
      signer: tx.signer,
      height: ctx.height,
      timestamp: ctx.timestamp,
      txHash: ctx.txHash,
    };
    state.set(anchorKey(hash), { ...record });
  },
};

/** Read queries: an anchored document by its hash. */
export const anchorQueries = {
  anchor: (state: StateReader, hash: Hex): AnchorRecord | undefined =>
    state.get(anchorKey(hash)) as unknown as AnchorRecord | undefined,
};

export const anchorModule: Module = {
  name: 'anchor',
  actions: { record: recordAction },
  queries: anchorQueries,
};
