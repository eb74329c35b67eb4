/**
 * `tillid tx send`: sign an anchor with a key file and submit it to a node. Either pass the
 * document hash (`--hash`), or a file (`--document`): the file is then committed to with a fresh
 * random salt, and the salt is printed — keep it with the document, off chain; without it the
 * anchor cannot be linked back to the document.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readKeyFile } from '../keyfile.ts';
import type { JsonObject } from '../protocol/canonical.ts';
import { sha256Hex } from '../protocol/hash.ts';
import type { KeyPair } from '../protocol/signature.ts';
import { signTransaction } from '../protocol/transaction.ts';
import { parse, required, UsageError } from './args.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function txSend(args: string[]): Promise<void> {
  const v = parse(args, {
    key: { type: 'string' },
    api: { type: 'string', default: 'http://127.0.0.1:7101' },
    hash: { type: 'string' },
    document: { type: 'string' },
    'doc-type': { type: 'string', default: 'document' },
    ref: { type: 'string' },
    'ttl-seconds': { type: 'string', default: '600' },
    wait: { type: 'boolean', default: false },
  });
  const keyPair = readKeyFile(required(v.key, 'key'));
  let hash = v.hash;
  let salt: string | undefined;
  if (v.document) {
    salt = randomBytes(32).toString('hex');
    hash = sha256Hex(Buffer.concat([Buffer.from(salt, 'hex'), readFileSync(v.document)]));
  }
  if (!hash) throw new UsageError('give --hash or --document');
  await signAndSubmit(
    { api: v.api, keyPair, ttlSeconds: Number(v['ttl-seconds']), wait: v.wait },
    'anchor.record',
    { hash, docType: v['doc-type'], ref: v.ref ?? `urn:tillid:doc:${randomUUID()}` },
    { anchoredHash: hash, ...(salt ? { salt } : {}) },
  );
}

export interface Submission {
  readonly api: string;
  readonly keyPair: KeyPair;
  readonly ttlSeconds: number;
  readonly wait: boolean;
}

/**
 * Signs a transaction for the node's chain, submits it, prints `{ hash, ...extra }` and, with
 * `wait`, the final status. Sets a non-zero exit code when the node or the chain rejects it.
 */
export async function signAndSubmit(
  s: Submission,
  type: string,
  payload: JsonObject,
  extra: object = {},
): Promise<void> {
  const status = await fetchJson(`${s.api}/v1/status`);
  const tx = signTransaction(
    {
      chainId: status.chainId,
      type,
      payload,
      signer: s.keyPair.publicKey,
      nonce: randomUUID(),
      expiresAt: Date.now() + s.ttlSeconds * 1000,
    },
    s.keyPair.privateKey,
  );
  const response = await fetch(`${s.api}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tx),
  });
  const body = (await response.json()) as { hash: string };
  if (response.status !== 202) {
    console.error(JSON.stringify(body));
    process.exitCode = 1;
    return;
  }
  console.log(JSON.stringify({ hash: body.hash, ...extra }));
  if (!s.wait) return;
  for (;;) {
    const view = await fetchJson(`${s.api}/v1/transactions/${body.hash}`, true);
    if (view && view.status !== 'pending') {
      console.log(JSON.stringify(view));
      if (view.status !== 'finalized') process.exitCode = 1;
      return;
    }
    await sleep(200);
  }
}

async function fetchJson(url: string, allow404 = false): Promise<any> {
  const response = await fetch(url);
  if (allow404 && response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}
