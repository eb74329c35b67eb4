import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containsCpr, findPersonalData } from '../../../node/protocol/pii.ts';

test('CPR numbers are found in the forms they are written', () => {
  for (const text of [
    '010190-1234',
    '0101901234',
    'barn 311299-4321 anbragt',
    'CPR: 290200 1234',
    'ref-2902001234',
  ]) {
    assert.equal(containsCpr(text), true, text);
  }
});

test('digit runs that cannot be a CPR number are allowed', () => {
  for (const text of [
    '3201901234', // day 32
    '0013901234', // month 13
    '3102901234', // 31 February
    '010190123', // nine digits
    '01019012345', // eleven digits
    'urn:doc:20261123', // a date alone
    'a'.repeat(20),
  ]) {
    assert.equal(containsCpr(text), false, text);
  }
});

test('a payload is searched through nested values, keys and integers; digests are exempt', () => {
  assert.equal(findPersonalData({ a: { b: ['ok', 'note 0101901234'] } }), '$.a.b[1]');
  assert.equal(findPersonalData({ n: 101901234 }), undefined, 'nine digits');
  assert.equal(findPersonalData({ n: 2512901234 }), '$.n');
  assert.equal(findPersonalData({ '0101901234': 'x' }), '$.0101901234');
  const digest = `0101901234${'a'.repeat(54)}`;
  assert.equal(findPersonalData({ hash: digest }), undefined);
  assert.equal(findPersonalData({ hash: `${digest}0` }), '$.hash', '65 characters is not a digest');
});
