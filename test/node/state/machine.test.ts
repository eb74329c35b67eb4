import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PARAMS } from '../../../node/protocol/genesis.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { BlockInvalidError, executeBlock, type Rules, receiptKey } from '../../../node/state/machine.ts';
import { registry } from '../../../node/state/module.ts';
import { anchorKey, anchorModule } from '../../../node/state/modules/anchor.ts';
import { MemoryState } from '../../../node/state/overlay.ts';
import { anchorTx, generateKeyPair } from '../../helpers.ts';

const key = generateKeyPair();
const rules: Rules = { chainId: 'tillid-test', params: DEFAULT_PARAMS, modules: registry([anchorModule]) };
const now = Date.now();
const ctx = (height: number) => ({ chainId: 'tillid-test', height, timestamp: now, proposer: key.publicKey });
const hashed = (tx: ReturnType<typeof anchorTx>) => ({ tx, hash: transactionHash(tx) });

test('execution is deterministic: the same block on the same state gives the same writes and root', () => {
  const txs = [anchorTx(key), anchorTx(key), anchorTx(key)].map(hashed);
  const a = executeBlock(new MemoryState(), '00'.repeat(32), txs, ctx(1), rules, 'propose');
  const b = executeBlock(new MemoryState(), '00'.repeat(32), txs, ctx(1), rules, 'validate');
  assert.equal(a.stateRoot, b.stateRoot);
  assert.deepEqual([...a.writes], [...b.writes]);
  const reordered = executeBlock(
    new MemoryState(),
    '00'.repeat(32),
    [txs[1], txs[0], txs[2]] as never,
    ctx(1),
    rules,
    'propose',
  );
  assert.notEqual(reordered.stateRoot, a.stateRoot, 'order is part of the state');
});

test('an anchor is recorded with its block context and a receipt', () => {
  const item = hashed(anchorTx(key));
  const state = new MemoryState();
  const result = executeBlock(state, '00'.repeat(32), [item], ctx(7), rules, 'validate');
  state.apply(result.writes);
  const record = state.get(anchorKey(item.tx.payload.hash as string)) as Record<string, unknown>;
  assert.equal(record.height, 7);
  assert.equal(record.signer, key.publicKey);
  assert.equal(record.txHash, item.hash);
  assert.deepEqual(state.get(receiptKey(item.hash)), { height: 7, index: 0, code: 'OK' });
});

test('a second anchor of the same document is included but rejected, and changes nothing else', () => {
  const first = hashed(anchorTx(key, 'tillid-test', { hash: 'ab'.repeat(32) }));
  const second = hashed(anchorTx(key, 'tillid-test', { hash: 'ab'.repeat(32), ref: 'urn:other' }));
  const state = new MemoryState();
  const result = executeBlock(state, '00'.repeat(32), [first, second], ctx(1), rules, 'propose');
  state.apply(result.writes);
  assert.equal(result.included.length, 2);
  assert.equal((state.get(receiptKey(second.hash)) as { code: string }).code, 'ANCHOR_EXISTS');
  assert.equal((state.get(anchorKey('ab'.repeat(32))) as { ref: string }).ref, first.tx.payload.ref);
});

test('a proposer drops what no block may hold; a validator rejects the block that holds it', () => {
  const expired = hashed(anchorTx(key, 'tillid-test', { expiresAt: now - 1 }));
  const wrongChain = hashed(anchorTx(key, 'other-chain'));
  const forged = hashed({ ...anchorTx(key), signature: anchorTx(key).signature });
  const cpr = hashed(anchorTx(key, 'tillid-test', { ref: 'child-0101901234' }));
  const good = hashed(anchorTx(key));
  const proposed = executeBlock(
    new MemoryState(),
    '00'.repeat(32),
    [expired, wrongChain, forged, cpr, good, good],
    ctx(1),
    rules,
    'propose',
  );
  assert.deepEqual(
    proposed.dropped.map((d) => d.error.code),
    ['TX_EXPIRED', 'TX_WRONG_CHAIN', 'TX_BAD_SIGNATURE', 'PII_REJECTED', 'TX_DUPLICATE'],
  );
  assert.deepEqual(
    proposed.included.map((t) => t.hash),
    [good.hash],
  );
  for (const bad of [expired, wrongChain, forged, cpr]) {
    assert.throws(
      () => executeBlock(new MemoryState(), '00'.repeat(32), [good, bad], ctx(1), rules, 'validate'),
      BlockInvalidError,
    );
  }
});

test('a transaction already on the chain cannot be included again (replay)', () => {
  const item = hashed(anchorTx(key));
  const state = new MemoryState();
  state.apply(executeBlock(state, '00'.repeat(32), [item], ctx(1), rules, 'validate').writes);
  assert.throws(
    () => executeBlock(state, '11'.repeat(32), [item], ctx(2), rules, 'validate'),
    /TX_DUPLICATE/,
  );
});
