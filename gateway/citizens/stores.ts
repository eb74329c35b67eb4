/**
 * The citizens' own stores, beside the gateway's other files (`<keyStoreDir>/../citizens/`): the
 * messages they sent (`messages.jsonl`, the texts themselves encrypted in the document store) and
 * the grants they gave (`grants.jsonl`). Both anchor their commitments through the gateway's
 * submitter, as the case's municipality, and wait for finality: the receipt a citizen is shown is
 * final on chain.
 */
import { dirname, join } from 'node:path';
import type { DocumentStore } from '../documents/store.ts';
import { GatewayError } from '../errors.ts';
import { rejection, type Submitter } from '../submission.ts';
import type { CaseSystem } from './case-system.ts';
import { Grants } from './grants.ts';
import { CitizenMessages } from './messages.ts';

export interface CitizenStores {
  readonly messages: CitizenMessages;
  readonly grants: Grants;
}

export function openCitizenStores(o: {
  keyStoreDir: string;
  submitter: Submitter;
  store: DocumentStore;
  caseSystem: CaseSystem;
  now?: () => Date;
}): CitizenStores {
  const dir = join(dirname(o.keyStoreDir), 'citizens');
  const anchor = async (municipality: string, hash: string, docType: string, ref: string) => {
    const result = await o.submitter.sign(municipality, 'anchor.record', { hash, docType, ref }, true);
    if (result.outcome?.status === 'rejected') throw rejection(result.outcome);
    if (!result.outcome) throw new GatewayError('FINALITY_TIMEOUT', 'the anchor is not final in time');
    return result.hash;
  };
  const now = o.now ? { now: o.now } : {};
  return {
    messages: CitizenMessages.open({
      file: join(dir, 'messages.jsonl'),
      store: o.store,
      anchor,
      caseSystem: o.caseSystem,
      ...now,
    }),
    grants: Grants.open({ file: join(dir, 'grants.jsonl'), anchor, ...now }),
  };
}
