import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, canonicalSafetyProblem } from '../../../node/protocol/canonical.ts';
import { sha256Hex } from '../../../node/protocol/hash.ts';
import { merkleRoot } from '../../../node/protocol/merkle.ts';

test('canonical JSON follows RFC 8785: sorted keys by UTF-16 code units, no whitespace, escaped minimally', () => {
  // From RFC 8785 §3.2.3 (sorting): keys sort by their UTF-16 code units, not by locale.
  const value = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji',
    '\u0080': 'Control',
    ö: 'Latin Small Letter O With Diaeresis',
  };
  assert.equal(
    canonicalJson(value),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
  assert.equal(
    canonicalJson({ b: [1, { d: true, c: null }], a: 'x' }),
    '{"a":"x","b":[1,{"c":null,"d":true}]}',
  );
});

test('the same value hashes the same whatever its key order', () => {
  assert.equal(sha256Hex(canonicalJson({ a: 1, b: 2 })), sha256Hex(canonicalJson({ b: 2, a: 1 })));
});

test('only plain JSON with safe integers may be signed', () => {
  assert.equal(canonicalSafetyProblem({ a: [1, 'x', null, true, { b: -5 }] }), undefined);
  assert.match(canonicalSafetyProblem({ a: 1.5 }) ?? '', /safe integers/);
  assert.match(canonicalSafetyProblem({ a: 2 ** 60 }) ?? '', /safe integers/);
  assert.match(canonicalSafetyProblem({ a: new Date() }) ?? '', /not a JSON value/);
  let deep: unknown = 'leaf';
  for (let i = 0; i < 40; i++) deep = { deep };
  assert.match(canonicalSafetyProblem(deep) ?? '', /nested deeper/);
});

test('merkle root: domain-separated leaves, order matters, empty list has a fixed root', () => {
  const h = (s: string) => sha256Hex(s);
  assert.equal(merkleRoot([]), sha256Hex(new Uint8Array(0)));
  assert.notEqual(merkleRoot([h('a')]), h('a'), 'a single leaf is hashed with the leaf prefix');
  assert.notEqual(merkleRoot([h('a'), h('b')]), merkleRoot([h('b'), h('a')]));
  assert.notEqual(merkleRoot([h('a'), h('b'), h('c')]), merkleRoot([h('a'), h('b')]));
});

test('values without a canonical form are refused with a TypeError', () => {
  for (const bad of ['\ud800', { k: '\udc00x' }, Number.NaN, Infinity, undefined, () => 1, 10n]) {
    assert.throws(() => canonicalJson(bad), TypeError);
  }
  assert.equal(
    canonicalJson({ a: undefined, b: 1 }),
    '{"b":1}',
    'undefined members are omitted, as JSON.stringify does',
  );
  assert.equal(canonicalJson('\ud83d\ude00 "q" \n'), '"\ud83d\ude00 \\"q\\" \\n"');
});
