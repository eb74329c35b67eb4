/**
 * `tillid tx send`: sign an anchor with a key file and submit it to a node. Either pass the
 * document hash (`--hash`), or a file (`--document`): the file is then committed to with a fresh
 * random salt, and the salt is printed — keep it with the document, off chain; without it the
 * anchor cannot be linked back to the document.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha256Hex } from '../protocol/hash.ts';
import { parse, UsageError } from './args.ts';
import { signingFlags, signingSession, submitAndPrint } from './submit.ts';

export async function txSend(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signingFlags,
    hash: { type: 'string' },
    document: { type: 'string' },
    'doc-type': { type: 'string', default: 'document' },
    ref: { type: 'string' },
  });
  let hash = v.hash;
  let salt: string | undefined;
  if (v.document) {
    salt = randomBytes(32).toString('hex');
    hash = sha256Hex(Buffer.concat([Buffer.from(salt, 'hex'), readFileSync(v.document)]));
  }
  if (!hash) throw new UsageError('give --hash or --document');
  const session = await signingSession(v);
  await submitAndPrint(
    session,
    session.build.anchor(session.signer(), {
      hash,
      docType: v['doc-type'],
      ref: v.ref ?? `urn:tillid:doc:${randomUUID()}`,
    }),
    v.wait,
    { anchoredHash: hash, ...(salt ? { salt } : {}) },
  );
}
