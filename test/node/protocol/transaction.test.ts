import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TillidError } from '../../../node/protocol/errors.ts';
import {
  decodeTransaction,
  transactionHash,
  transactionSignatureValid,
} from '../../../node/protocol/transaction.ts';
import { anchorTx, generateKeyPair } from '../../helpers.ts';

const key = generateKeyPair();

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'none';
  } catch (e) {
    return e instanceof TillidError ? e.code : `untyped ${(e as Error).message}`;
  }
};

test('a signed transaction decodes, hashes from its unsigned body, and verifies', () => {
  const tx = anchorTx(key);
  const decoded = decodeTransaction(JSON.parse(JSON.stringify(tx)));
  assert.equal(transactionSignatureValid(decoded.tx), true);
  assert.equal(decoded.hash, transactionHash(tx));
  const resigned = { ...tx, signature: 'ff'.repeat(64) };
  assert.equal(decoded.hash, transactionHash(resigned), 'the signature is not part of the id');
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(tx).sort(([a], [b]) => (a < b ? -1 : 1))),
  );
  assert.equal(decoded.bytes, new TextEncoder().encode(canonical).length, 'size is the canonical size');
});

test('any change to a signed field breaks the signature', () => {
  const tx = anchorTx(key);
  for (const changed of [
    { ...tx, nonce: `${tx.nonce}x` },
    { ...tx, expiresAt: tx.expiresAt + 1 },
    { ...tx, chainId: 'other-chain' },
    { ...tx, payload: { ...tx.payload, docType: 'contract' } },
    { ...tx, signer: generateKeyPair().publicKey },
  ]) {
    assert.equal(transactionSignatureValid(decodeTransaction(changed).tx), false);
  }
});

test('malformed transactions are rejected with TX_MALFORMED or TX_TOO_LARGE', () => {
  const tx = anchorTx(key);
  const cases: [unknown, string][] = [
    [null, 'TX_MALFORMED'],
    [[], 'TX_MALFORMED'],
    ['tx', 'TX_MALFORMED'],
    [{ ...tx, extra: 1 }, 'TX_MALFORMED'],
    [{ ...tx, type: 'anchor' }, 'TX_MALFORMED'],
    [{ ...tx, type: 'Anchor.record' }, 'TX_MALFORMED'],
    [{ ...tx, payload: [] }, 'TX_MALFORMED'],
    [{ ...tx, payload: { a: 0.5 } }, 'TX_MALFORMED'],
    [{ ...tx, payload: { ref: 'lone \ud800 surrogate' } }, 'TX_MALFORMED'],
    [{ ...tx, payload: { 'key \udc00': 'x' } }, 'TX_MALFORMED'],
    [{ ...tx, signer: 'ab' }, 'TX_MALFORMED'],
    [{ ...tx, signer: `01${'00'.repeat(31)}` }, 'TX_MALFORMED'],
    [{ ...tx, nonce: 'short' }, 'TX_MALFORMED'],
    [{ ...tx, expiresAt: '123' }, 'TX_MALFORMED'],
    [{ ...tx, expiresAt: -1 }, 'TX_MALFORMED'],
    [{ ...tx, signature: tx.signature.toUpperCase() }, 'TX_MALFORMED'],
    [{ ...tx, payload: { blob: 'x'.repeat(20_000) } }, 'TX_TOO_LARGE'],
  ];
  for (const [input, code] of cases)
    assert.equal(
      codeOf(() => decodeTransaction(input)),
      code,
      JSON.stringify(input).slice(0, 80),
    );
});
