/**
 * A chain recorded before the contract module was reorganised (issue 10) replays through today's
 * state machine to the same writes and the same state root at every block. The fixture
 * (`test/fixtures/chains/contracts-v1/`, recorded by `test/fixtures/chains/record.ts`) exercises
 * every module and every contract action, including rejected transactions, monthly decisions, a
 * lapsing item, an expiry and a cascade.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Genesis } from '../../../node/protocol/genesis.ts';
import { canonicalHash, type Hex } from '../../../node/protocol/hash.ts';
import { type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { executeBlock, type Receipt, receiptKey } from '../../../node/state/machine.ts';
import { MemoryState } from '../../../node/state/overlay.ts';

interface RecordedBlock {
  readonly chainId: string;
  readonly height: number;
  readonly timestamp: number;
  readonly proposer: Hex;
  readonly transactions: Transaction[];
  readonly receipts: string[];
  readonly writesHash: Hex;
  readonly stateRoot: Hex;
}

const dir = new URL('../../fixtures/chains/contracts-v1/', import.meta.url);
const genesis = JSON.parse(readFileSync(new URL('genesis.json', dir), 'utf8')) as Genesis;
const blocks = JSON.parse(readFileSync(new URL('blocks.json', dir), 'utf8')) as RecordedBlock[];

test('the recorded fixture chain replays to the same writes and state root at every block', () => {
  const rules = { chainId: genesis.chainId, params: genesis.params, modules: applicationModules(genesis) };
  const state = new MemoryState();
  let root: Hex = '00'.repeat(32);
  assert.ok(blocks.length > 30, 'the fixture holds the whole scenario');
  for (const recorded of blocks) {
    const { chainId, height, timestamp, proposer } = recorded;
    const items = recorded.transactions.map((tx) => ({ tx, hash: transactionHash(tx) }));
    const result = executeBlock(
      state,
      root,
      items,
      { chainId, height, timestamp, proposer },
      rules,
      'validate',
    );
    state.apply(result.writes);
    root = result.stateRoot;
    const codes = items.map((i) => (state.get(receiptKey(i.hash)) as unknown as Receipt).code);
    assert.deepEqual(codes, recorded.receipts, `receipts of block ${height}`);
    const writes = [...result.writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // The writes first: they are what the state transition produced, whatever the root function.
    assert.equal(canonicalHash(writes), recorded.writesHash, `writes of block ${height}`);
    assert.equal(result.stateRoot, recorded.stateRoot, `state root of block ${height}`);
  }
});
