/**
 * `anchor`: records that a document with a given hash exists, with a short type code and an opaque
 * reference to where it lives off chain. No content, no personal data: the hash should be a salted
 * commitment whose salt is kept off chain, so erasing the salt makes the anchor unlinkable. The
 * payload's schema is in node/schemas/anchor.ts (an opaque reference, no free text).
 */
import { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import { anchorSchemas } from '../../schemas/anchor.ts';
import { payloadValidator } from '../../schemas/validate.ts';
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

export const anchorKey = (hash: Hex): string => `anchor/${hash}`;

const recordAction: Action = {
  check: payloadValidator(anchorSchemas.record, 'anchor.record'),
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
