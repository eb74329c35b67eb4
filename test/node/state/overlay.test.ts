/**
 * The block overlay remembers what it read from the committed state (state/overlay.ts): a block's
 * transactions read the same party and template records many times, and each store read parses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Json } from '../../../node/protocol/canonical.ts';
import { StateOverlay } from '../../../node/state/overlay.ts';

/** A base that counts its reads. */
function countingBase(values: Record<string, Json>) {
  const reads: string[] = [];
  return {
    reads,
    get(key: string): Json | undefined {
      reads.push(key);
      return values[key];
    },
  };
}

test('remembered reads: each key is read from the base once, absent keys too; writes and child overlays see the latest value', () => {
  const base = countingBase({ 'party/1': { kind: 'municipality' } });
  const block = new StateOverlay(base, { rememberReads: true });
  const first = block.get('party/1');
  assert.deepEqual(first, { kind: 'municipality' });
  assert.equal(block.get('party/1'), first);
  assert.equal(block.get('missing'), undefined);
  assert.equal(block.get('missing'), undefined);
  assert.deepEqual(base.reads, ['party/1', 'missing']);
  // A transaction's overlay reads through the block's memory, and its merged writes win.
  const tx = new StateOverlay(block);
  assert.equal(tx.get('party/1'), first);
  tx.set('party/1', { kind: 'provider' });
  tx.set('missing', 1);
  assert.deepEqual(block.get('party/1'), { kind: 'municipality' });
  tx.mergeInto(block);
  assert.deepEqual(block.get('party/1'), { kind: 'provider' });
  assert.equal(block.get('missing'), 1);
  assert.deepEqual(base.reads, ['party/1', 'missing']);
});

test('without rememberReads every read goes to the base', () => {
  const base = countingBase({ a: 1 });
  const overlay = new StateOverlay(base);
  overlay.get('a');
  overlay.get('a');
  assert.deepEqual(base.reads, ['a', 'a']);
});
