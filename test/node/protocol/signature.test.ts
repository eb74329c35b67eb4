/**
 * The one signature rule. The vectors are built where ZIP-215 (noble's default), noble's strict
 * mode (cofactored) and our rule (strict, cofactorless, no small-order points) disagree: a node that
 * used another library's default would accept what the rest of the network rejects.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, toHex } from '../../../node/protocol/hash.ts';
import {
  generateKeyPair,
  isValidPublicKey,
  keyPairFromSeed,
  Signer,
  signWithNoble,
  verifySignature,
} from '../../../node/protocol/signature.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

const leBytes = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const leNumber = (bytes: Uint8Array): bigint => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint =>
  leNumber(new Uint8Array(createHash('sha512').update(r).update(a).update(m).digest())) % L;
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const { scalar: a, prefix } = ed25519.utils.getExtendedPublicKey(seed);
const A = ed25519.Point.BASE.multiply(a).toBytes();
const message = new TextEncoder().encode('tillid test message');
const IDENTITY = ed25519.Point.ZERO.toBytes();
const IDENTITY_NON_CANONICAL = leBytes(P + 1n); // y = 1 encoded as p + 1

interface Vector {
  name: string;
  publicKey: Uint8Array;
  signature: Uint8Array;
  message: Uint8Array;
  ours: boolean;
  zip215: boolean;
  nobleStrict: boolean;
}

function vectors(): Vector[] {
  const honest = ed25519.sign(message, seed);
  const s = leNumber(honest.subarray(32));
  const list: Vector[] = [];
  // RFC 8032 §7.1 TEST 1.
  list.push({
    name: 'RFC 8032 test 1',
    publicKey: fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'),
    signature: fromHex(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    ),
    message: new Uint8Array(0),
    ours: true,
    zip215: true,
    nobleStrict: true,
  });
  list.push({
    name: 'honest signature',
    publicKey: A,
    signature: honest,
    message,
    ours: true,
    zip215: true,
    nobleStrict: true,
  });
  list.push({
    name: 'S + L (malleated, non-canonical S)',
    publicKey: A,
    signature: concat(honest.subarray(0, 32), leBytes(s + L)),
    message,
    ours: false,
    zip215: false,
    nobleStrict: false,
  });
  list.push({
    name: 'small-order public key (identity), R = identity, S = 0: valid for every message',
    publicKey: IDENTITY,
    signature: concat(IDENTITY, leBytes(0n)),
    message,
    ours: false,
    zip215: true,
    nobleStrict: false,
  });
  list.push({
    name: 'non-canonical encoding of the identity as public key',
    publicKey: IDENTITY_NON_CANONICAL,
    signature: concat(IDENTITY, leBytes(0n)),
    message,
    ours: false,
    zip215: true,
    nobleStrict: false,
  });
  // R = identity and S = k·a satisfies [S]B = R + [k]A, cofactored or not.
  const kCanonicalR = challenge(IDENTITY, A, message);
  list.push({
    name: 'small-order R (identity), canonical',
    publicKey: A,
    signature: concat(IDENTITY, leBytes((kCanonicalR * a) % L)),
    message,
    ours: false,
    zip215: true,
    nobleStrict: true,
  });
  const kNonCanonicalR = challenge(IDENTITY_NON_CANONICAL, A, message);
  list.push({
    name: 'R = identity in a non-canonical encoding',
    publicKey: A,
    signature: concat(IDENTITY_NON_CANONICAL, leBytes((kNonCanonicalR * a) % L)),
    message,
    ours: false,
    zip215: true,
    nobleStrict: false,
  });
  // Mixed-order key A' = A + T (T of order 8): an honest-looking signature that holds under the
  // cofactored equation but not the cofactorless one whenever k is not a multiple of 8.
  const torsion = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1] as string);
  const mixed = ed25519.Point.BASE.multiply(a).add(torsion).toBytes();
  for (let i = 0; ; i++) {
    const m = new TextEncoder().encode(`mixed-order ${i}`);
    const r = leNumber(new Uint8Array(createHash('sha512').update(prefix).update(m).digest())) % L;
    const R = ed25519.Point.BASE.multiply(r).toBytes();
    const k = challenge(R, mixed, m);
    if (k % 8n === 0n) continue;
    list.push({
      name: 'mixed-order public key (cofactored equation holds, cofactorless does not)',
      publicKey: mixed,
      signature: concat(R, leBytes((r + k * a) % L)),
      message: m,
      ours: false,
      zip215: true,
      nobleStrict: true,
    });
    break;
  }
  return list;
}

test('the signature rule on vectors where ZIP-215, cofactored and cofactorless verification disagree', () => {
  for (const v of vectors()) {
    const zip215 = ed25519.verify(v.signature, v.message, v.publicKey, { zip215: true });
    const nobleStrict = ed25519.verify(v.signature, v.message, v.publicKey, { zip215: false });
    assert.equal(zip215, v.zip215, `${v.name}: noble ZIP-215`);
    assert.equal(nobleStrict, v.nobleStrict, `${v.name}: noble strict`);
    assert.equal(
      verifySignature(toHex(v.publicKey), v.message, toHex(v.signature)),
      v.ours,
      `${v.name}: Tillid rule`,
    );
  }
});

test('every vector the rule rejects is accepted by some other verifier (the vectors are not trivial)', () => {
  const rejected = vectors().filter((v) => !v.ours && (v.zip215 || v.nobleStrict));
  assert.ok(rejected.length >= 5);
});

test('signatures made by noble (clients) and by node:crypto (nodes) verify under the rule', () => {
  const keyPair = generateKeyPair();
  const m = new TextEncoder().encode('anchor');
  assert.equal(verifySignature(keyPair.publicKey, m, signWithNoble(m, keyPair.privateKey)), true);
  const signer = new Signer(keyPair);
  const viaNode = signer.sign(m);
  assert.equal(
    viaNode,
    signWithNoble(m, keyPair.privateKey),
    'Ed25519 is deterministic: both libraries agree',
  );
  assert.equal(verifySignature(keyPair.publicKey, new TextEncoder().encode('anchor!'), viaNode), false);
});

test('malformed keys and signatures are rejected without throwing', () => {
  const { publicKey } = keyPairFromSeed(seed);
  const m = new Uint8Array(1);
  for (const [key, sig] of [
    ['', ''],
    ['zz', 'zz'],
    [publicKey.toUpperCase(), '00'.repeat(64)],
    [publicKey, '00'.repeat(63)],
    [publicKey, `${'00'.repeat(64)}00`],
    ['ff'.repeat(32), '00'.repeat(64)],
  ] as const) {
    assert.equal(verifySignature(key, m, sig), false);
  }
  assert.equal(isValidPublicKey(toHex(IDENTITY)), false);
  assert.equal(isValidPublicKey(toHex(IDENTITY_NON_CANONICAL)), false);
  assert.equal(isValidPublicKey(publicKey), true);
});

test('a Signer never reveals its private key when serialised or logged', () => {
  const keyPair = generateKeyPair();
  const signer = new Signer(keyPair);
  assert.ok(!JSON.stringify({ signer }).includes(keyPair.privateKey));
  assert.ok(!inspect(signer, { showHidden: true, depth: 5 }).includes(keyPair.privateKey));
});
