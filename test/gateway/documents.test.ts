/**
 * Documents off chain, through the real plugin in a fastify server: upload, download with the
 * commitment re-checked, rights, tampering, erasure (with a real node anchoring commitments and the
 * chain still verifying afterwards) and oversized uploads.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Caller } from '../../gateway/caller.ts';
import { DOCUMENT_COMMITMENT_TAG, documentCommitment } from '../../gateway/documents/commitment.ts';
import { FileDocumentStore } from '../../gateway/documents/file-store.ts';
import { documentRoutes } from '../../gateway/documents/routes.ts';
import {
  type ContractParties,
  ownerOrContractParties,
  type SubmitToChain,
} from '../../gateway/documents/service.ts';
import type { DocumentStore } from '../../gateway/documents/store.ts';
import { apiBlockSource } from '../../node/chain/api-source.ts';
import { verifyChain } from '../../node/chain/verify.ts';
import { signTransaction } from '../../node/protocol/transaction.ts';
import { applicationModules } from '../../node/state/application.ts';
import { getJson, startTestNode, tempDir, waitFor } from '../helpers.ts';

const MUNICIPALITY = '29189846';
const PROVIDER = '11111111';
const STRANGER = '22222222';
const CONTRACT = 'c'.repeat(64);
const parties: ContractParties = async (id) =>
  id === CONTRACT ? { municipality: MUNICIPALITY, provider: PROVIDER } : undefined;

/**
 * Stand-in for the gateway's authentication hook (part A): the test names the caller's CVR in a
 * header. The document plugin only ever reads `request.caller`.
 */
function testAuthentication(app: FastifyInstance): void {
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request) => {
    const cvr = request.headers['x-test-cvr'];
    if (typeof cvr === 'string') {
      const caller: Caller = {
        system: `urn:test:system:${cvr}`,
        cvr,
        privileges: [],
        via: 'token',
        transactionId: randomUUID(),
      };
      request.caller = caller;
    }
  });
}

async function gateway(
  t: { after(fn: () => unknown): void },
  options: { store?: DocumentStore; submit?: SubmitToChain; masterKey?: Buffer; maxBytes?: number } = {},
) {
  const dir = tempDir(t);
  const store =
    options.store ??
    (await FileDocumentStore.open({ dir, ...(options.masterKey ? { masterKey: options.masterKey } : {}) }));
  const app = Fastify();
  testAuthentication(app);
  await app.register(documentRoutes, {
    store,
    authorize: ownerOrContractParties(parties),
    erasureLog: join(dir, 'erasures.jsonl'),
    ...(options.submit ? { submit: options.submit } : {}),
    ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const upload = (
    cvr: string | undefined,
    body: Uint8Array,
    query = 'docType=status-report',
    type = 'application/pdf',
  ) =>
    fetch(`${url}/v1/documents?${query}`, {
      method: 'POST',
      headers: { 'content-type': type, ...(cvr ? { 'x-test-cvr': cvr } : {}) },
      body,
    });
  const call = (method: string, path: string, cvr?: string) =>
    fetch(`${url}${path}`, { method, headers: cvr ? { 'x-test-cvr': cvr } : {} });
  return { dir, url, store, upload, call };
}

/** Every byte under `dir`, to show a plaintext (or salt) appears nowhere on disk. */
function diskContains(dir: string, needle: Buffer): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && readFileSync(join(entry.parentPath, entry.name)).includes(needle)) return true;
  }
  return false;
}

test('an uploaded document is encrypted at rest, and downloads with a salt that reproduces its commitment', async (t) => {
  const { dir, upload, call } = await gateway(t, { masterKey: randomBytes(32) });
  const report = Buffer.from(`Statusrapport Q1 for anbringelse ${randomUUID()}`);
  const response = await upload(MUNICIPALITY, report, `docType=status-report&contract=${CONTRACT}`);
  assert.equal(response.status, 201);
  const meta = (await response.json()) as Record<string, string | number>;
  assert.match(String(meta.commitment), /^[0-9a-f]{64}$/);
  assert.equal(meta.owner, MUNICIPALITY);
  assert.equal(meta.size, report.length);
  assert.equal(meta.mediaType, 'application/pdf');
  assert.ok(!diskContains(dir, report), 'the plaintext is nowhere on disk');

  const download = await call('GET', `/v1/documents/${meta.id}`, MUNICIPALITY);
  assert.equal(download.status, 200);
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), report);
  assert.equal(download.headers.get('content-type'), 'application/pdf');
  const salt = Buffer.from(download.headers.get('x-tillid-salt') ?? '', 'hex');
  assert.equal(salt.length, 32);
  assert.ok(!diskContains(dir, salt), 'the salt is sealed too');
  // The documented formula, computed independently of the gateway's code.
  const recomputed = createHash('sha256')
    .update(Buffer.concat([Buffer.from(DOCUMENT_COMMITMENT_TAG), Buffer.of(0), salt, report]))
    .digest('hex');
  assert.equal(recomputed, meta.commitment);
  assert.equal(download.headers.get('x-tillid-commitment'), meta.commitment);

  // The contract's provider may read it; an unrelated organisation may not; nobody anonymous.
  assert.equal((await call('GET', `/v1/documents/${meta.id}`, PROVIDER)).status, 200);
  const stranger = await call('GET', `/v1/documents/${meta.id}`, STRANGER);
  assert.equal(stranger.status, 403);
  assert.equal(((await stranger.json()) as { code: string }).code, 'DOCUMENT_FORBIDDEN');
  const anonymous = await call('GET', `/v1/documents/${meta.id}`);
  assert.equal(anonymous.status, 401);
  assert.equal(((await anonymous.json()) as { code: string }).code, 'AUTH_REQUIRED');
  // Nor may a stranger attach documents to somebody else's contract.
  const foreign = await upload(STRANGER, report, `docType=status-report&contract=${CONTRACT}`);
  assert.equal(foreign.status, 403);
  const unknown = await call('GET', `/v1/documents/${randomUUID()}`, MUNICIPALITY);
  assert.equal(((await unknown.json()) as { code: string }).code, 'DOCUMENT_NOT_FOUND');
});

test('a sealed key store opens only with its master key', async (t) => {
  const dir = tempDir(t);
  const masterKey = randomBytes(32);
  const store = await FileDocumentStore.open({ dir, masterKey });
  const salt = randomBytes(32);
  const bytes = Buffer.from('kontrakt');
  const meta = {
    id: randomUUID(),
    commitment: documentCommitment(salt, bytes),
    owner: MUNICIPALITY,
    docType: 'contract',
    mediaType: 'text/plain',
    size: bytes.length,
    createdAt: new Date().toISOString(),
  };
  await store.put({ meta, salt, bytes });
  assert.deepEqual((await (await FileDocumentStore.open({ dir, masterKey })).get(meta.id))?.bytes, bytes);
  const wrong = await FileDocumentStore.open({ dir, masterKey: randomBytes(32) });
  await assert.rejects(wrong.get(meta.id), { code: 'DOCUMENT_HASH_MISMATCH' });
});

test('a tampered document is refused with DOCUMENT_HASH_MISMATCH, whether the file or the adapter altered it', async (t) => {
  const { dir, upload, call } = await gateway(t);
  const meta = (await (await upload(MUNICIPALITY, Buffer.from('original report'))).json()) as { id: string };
  const blob = join(dir, 'blobs', `${meta.id}.bin`);
  const bytes = readFileSync(blob);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  writeFileSync(blob, bytes);
  const response = await call('GET', `/v1/documents/${meta.id}`, MUNICIPALITY);
  assert.equal(response.status, 409);
  assert.equal(((await response.json()) as { code: string }).code, 'DOCUMENT_HASH_MISMATCH');

  // A municipality's own document system behind the adapter interface is checked the same way.
  const inner = await FileDocumentStore.open({ dir: tempDir(t) });
  const lying: DocumentStore = {
    put: (doc) => inner.put(doc),
    meta: (id) => inner.meta(id),
    erase: (id, erased) => inner.erase(id, erased),
    async get(id) {
      const content = await inner.get(id);
      return content && { salt: content.salt, bytes: Buffer.from('a different report') };
    },
  };
  const other = await gateway(t, { store: lying });
  const stored = (await (await other.upload(MUNICIPALITY, Buffer.from('original report'))).json()) as {
    id: string;
  };
  const refused = await other.call('GET', `/v1/documents/${stored.id}`, MUNICIPALITY);
  assert.equal(refused.status, 409);
  assert.equal(((await refused.json()) as { code: string }).code, 'DOCUMENT_HASH_MISMATCH');
});

test('an oversized or empty upload is refused and nothing is stored', async (t) => {
  const { dir, upload } = await gateway(t, { maxBytes: 1024 });
  const big = await upload(MUNICIPALITY, randomBytes(1025));
  assert.equal(big.status, 413);
  assert.deepEqual(await big.json(), {
    code: 'DOCUMENT_TOO_LARGE',
    message: 'documents are at most 1024 bytes',
  });
  const empty = await upload(MUNICIPALITY, Buffer.alloc(0));
  assert.equal(empty.status, 400);
  const badType = await upload(MUNICIPALITY, Buffer.from('x'), 'docType=Status%20Report');
  assert.equal(badType.status, 400);
  assert.equal(((await badType.json()) as { code: string }).code, 'BAD_REQUEST');
  assert.deepEqual(readdirSync(join(dir, 'meta')), []);
  assert.equal((await upload(MUNICIPALITY, randomBytes(1024))).status, 201);
});

test('erasure leaves the document unrecoverable while the chain, with its anchors, still verifies', async (t) => {
  const { url: nodeUrl, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  // Part A signs with the municipality's submitter key; here the test node's key stands in for it.
  const submit: SubmitToChain = async (_caller, tx) => {
    const signed = signTransaction(
      {
        chainId: genesis.chainId,
        ...tx,
        signer: key.publicKey,
        nonce: randomUUID(),
        expiresAt: Date.now() + 60_000,
      },
      key.privateKey,
    );
    const response = await fetch(`${nodeUrl}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signed),
    });
    const body = (await response.json()) as { hash: string; code: string; message: string };
    if (response.status !== 202)
      throw Object.assign(new Error(body.message), { code: body.code, status: response.status });
    return { hash: body.hash };
  };
  const { dir, upload, call } = await gateway(t, { submit });
  const report = Buffer.from(`Statusrapport ${randomUUID()}`);
  const created = await upload(
    MUNICIPALITY,
    report,
    `docType=status-report&contract=${CONTRACT}&anchor=true`,
  );
  assert.equal(created.status, 201);
  const meta = (await created.json()) as { id: string; commitment: string; anchorTx: string };
  const anchor = await waitFor(async () => {
    const a = await getJson(`${nodeUrl}/v1/anchors/${meta.commitment}`);
    return a.txHash ? a : undefined;
  });
  assert.equal(anchor.txHash, meta.anchorTx);
  assert.equal(anchor.ref, `tillid:document:${meta.id}`);

  // The provider may read but not erase; the contract's municipality may erase.
  assert.equal((await call('DELETE', `/v1/documents/${meta.id}`, PROVIDER)).status, 403);
  const erased = await call('DELETE', `/v1/documents/${meta.id}`, MUNICIPALITY);
  assert.equal(erased.status, 200);
  const record = (await erased.json()) as { erasureHash: string; anchorTx: string; erasedAt: string };
  assert.ok(record.anchorTx, 'the erasure is anchored');

  const gone = await call('GET', `/v1/documents/${meta.id}`, MUNICIPALITY);
  assert.equal(gone.status, 410);
  assert.equal(((await gone.json()) as { code: string }).code, 'DOCUMENT_ERASED');
  assert.equal((await call('DELETE', `/v1/documents/${meta.id}`, MUNICIPALITY)).status, 410);
  const after = (await (await call('GET', `/v1/documents/${meta.id}/meta`, MUNICIPALITY)).json()) as {
    erased: { at: string };
  };
  assert.equal(after.erased.at, record.erasedAt);
  assert.deepEqual(readdirSync(join(dir, 'keys')), [], 'no key, no salt left');
  assert.deepEqual(readdirSync(join(dir, 'blobs')), [], 'no ciphertext left');

  // The durable erasure record: its salted hash is what the chain holds, and it reproduces.
  const log = readFileSync(join(dir, 'erasures.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(log.at(-1).anchorTx, record.anchorTx);
  assert.equal(log[0].commitment, meta.commitment);
  const erasureAnchor = await waitFor(async () => {
    const a = await getJson(`${nodeUrl}/v1/anchors/${record.erasureHash}`);
    return a.txHash ? a : undefined;
  });
  assert.equal(erasureAnchor.docType, 'erasure');
  assert.ok(
    !JSON.stringify(erasureAnchor).includes(meta.id),
    'the erasure anchor does not name the document',
  );

  // The chain still holds the original commitment and still verifies from genesis.
  assert.equal((await getJson(`${nodeUrl}/v1/anchors/${meta.commitment}`)).txHash, meta.anchorTx);
  // The API serves each block with its hash; the shared source checks and strips it, as the CLI does.
  const verdict = await verifyChain(apiBlockSource(nodeUrl), genesis, applicationModules(genesis));
  assert.equal(verdict.ok, true, JSON.stringify(verdict));
});

test('an anchor the node refuses is reported with its code and the upload is not kept', async (t) => {
  const submit: SubmitToChain = async () => {
    throw Object.assign(new Error('the mempool is full'), { code: 'MEMPOOL_FULL', status: 429 });
  };
  const { upload, dir } = await gateway(t, { submit });
  const response = await upload(MUNICIPALITY, Buffer.from('rapport'), 'docType=status-report&anchor=true');
  assert.equal(response.status, 429);
  assert.deepEqual(await response.json(), { code: 'MEMPOOL_FULL', message: 'the mempool is full' });
  assert.deepEqual(readdirSync(join(dir, 'blobs')), []);
  assert.deepEqual(readdirSync(join(dir, 'keys')), []);
});
