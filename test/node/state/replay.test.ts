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

/** Replays the whole fixture; returns the final state and the modules. */
function replay() {
  const modules = applicationModules(genesis);
  const rules = { chainId: genesis.chainId, params: genesis.params, modules };
  const state = new MemoryState();
  let root: Hex = '00'.repeat(32);
  for (const { chainId, height, timestamp, proposer, transactions } of blocks) {
    const items = transactions.map((tx) => ({ tx, hash: transactionHash(tx) }));
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
  }
  return { state, modules };
}

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

test('modules answer reads through their queries, so callers need not know their key layouts', () => {
  const { state, modules } = replay();
  // biome-ignore lint/suspicious/noExplicitAny: query results are read by assertions
  const query = (module: string, name: string, ...args: unknown[]): any => {
    const q = modules.get(module)?.queries?.[name];
    assert.ok(q, `${module}.${name}`);
    return q(state, ...args);
  };
  const anchored = blocks[0]?.transactions[2]?.payload.hash as Hex;
  assert.equal(query('anchor', 'anchor', anchored).docType, 'status-report');
  assert.equal(query('anchor', 'anchor', 'ff'.repeat(32)), undefined);
  // Authority 3 was voted in at block 2, effective two blocks later.
  const schedule = query('governance', 'schedule');
  assert.deepEqual(
    schedule.map((s: { fromHeight: number; authorities: unknown[] }) => [s.fromHeight, s.authorities.length]),
    [
      [1, 2],
      [4, 3],
    ],
  );
  assert.equal(query('evidence', 'equivocations').length, 1);
  assert.equal(query('party', 'party', '11111111').kind, 'provider');
  const contracts = query('contract', 'contracts', '11111111');
  assert.deepEqual(
    contracts.map((c: { status: string }) => c.status),
    ['terminated', 'expired'],
  );
  const placement = query('contract', 'contract', contracts[0].id, 0);
  assert.equal(placement.timeline.length > 10, true);
  assert.equal(query('contract', 'template', '29189846/placement').code, 'placement');
  // The care home sees its own decisions; the municipality's list holds every provider's.
  const own = query('contract', 'paymentsFor', '11111111', '2026-03');
  assert.ok(own.length > 0 && own.every((d: { provider: string }) => d.provider === '11111111'));
  assert.ok(query('contract', 'payments', '29189846', '2026-03').length > own.length);
});
