/**
 * The client's builder signs exactly what a node accepts: the node's own decoding and signature
 * rule pass its transactions, co-signatures verify under the node's digest, and what a caller
 * leaves undefined never reaches the canonical bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cosignDigest, generateKeyPair, transactionHash, transactions } from '../../client/index.ts';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { Signer, signingMessage, verifySignature } from '../../node/protocol/signature.ts';
import { decodeTransaction, transactionSignatureValid } from '../../node/protocol/transaction.ts';
import { actorId, CARE_HOME_CVR, MUNICIPALITY_CVR } from '../fixtures/contracts.ts';

const caseworker = { party: MUNICIPALITY_CVR, role: 'caseworker', actor: actorId('caseworker') } as const;
const careHomeRep = {
  party: CARE_HOME_CVR,
  role: 'provider-representative',
  actor: actorId('care-home-rep'),
} as const;

test('a built transaction decodes and verifies with the node code, for a key pair and for a key-store signer', () => {
  const key = generateKeyPair();
  const b = transactions('tillid-test', { now: () => 1_000_000, ttlMs: 60_000 });
  const tx = b.anchor(key, { hash: 'ab'.repeat(32), docType: 'status-report', ref: 'urn:test:a' });
  assert.equal(tx.chainId, 'tillid-test');
  assert.equal(tx.signer, key.publicKey);
  assert.equal(tx.expiresAt, 1_060_000);
  const decoded = decodeTransaction(JSON.parse(JSON.stringify(tx)));
  assert.equal(decoded.hash, transactionHash(tx));
  assert.ok(transactionSignatureValid(tx));
  // A signer that is only { publicKey, sign } (a hardware or key-store key) gives the same signature.
  const held = new Signer(key);
  const same = b.anchor(
    { publicKey: held.publicKey, sign: (m: Uint8Array) => held.sign(m) },
    { hash: 'ab'.repeat(32), docType: 'status-report', ref: 'urn:test:a' },
    { nonce: tx.nonce },
  );
  assert.equal(same.signature, tx.signature, 'Ed25519 is deterministic: one key, one body, one signature');
  // Tampering with the payload breaks it.
  assert.equal(transactionSignatureValid({ ...tx, payload: { ...tx.payload, ref: 'urn:test:b' } }), false);
});

test('optional fields left undefined are dropped, so the node still decodes the transaction', () => {
  const key = generateKeyPair();
  const b = transactions('tillid-test');
  const tx = b.contract.create(key, {
    as: caseworker,
    template: `${MUNICIPALITY_CVR}/placement`,
    provider: CARE_HOME_CVR,
    start: '2026-02-01',
    items: [{ code: 'residential', monthly: 1, until: undefined }],
    reportEveryMonths: 0,
    months: undefined,
    kle: undefined,
  });
  assert.deepEqual(Object.keys(tx.payload).sort(), [
    'as',
    'items',
    'provider',
    'reportEveryMonths',
    'start',
    'template',
  ]);
  assert.deepEqual(tx.payload.items, [{ code: 'residential', monthly: 1 }]);
  decodeTransaction(JSON.parse(JSON.stringify(tx)));
});

test('offline co-signatures: each co-signer signs the draft, the proposal carries them, the node digest verifies them', () => {
  const [municipal, provider] = [generateKeyPair(), generateKeyPair()];
  const b = transactions('tillid-test');
  const draft = b.contract.draftMotion({ as: caseworker, contract: 'cd'.repeat(32), action: 'activate' });
  // The draft travels as JSON to the co-signer; it holds no secret.
  const cosignature = b.actingAs(provider, careHomeRep).cosign(JSON.parse(JSON.stringify(draft)));
  const tx = b.contract.proposeDraft(municipal, draft, [cosignature]);
  assert.equal(tx.nonce, draft.nonce);
  assert.equal(tx.expiresAt, draft.expiresAt);
  assert.ok(transactionSignatureValid(tx));
  const digest = cosignDigest('tillid-test', tx.payload as JsonObject, tx.nonce, tx.expiresAt);
  assert.ok(verifySignature(provider.publicKey, signingMessage('cosign', digest), cosignature.signature));
  // Bound to this transaction: another nonce, another digest, and the co-signature no longer fits.
  const other = cosignDigest('tillid-test', tx.payload as JsonObject, `${tx.nonce}x`, tx.expiresAt);
  assert.equal(
    verifySignature(provider.publicKey, signingMessage('cosign', other), cosignature.signature),
    false,
  );
});
