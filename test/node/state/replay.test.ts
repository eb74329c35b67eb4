/**
 * A chain recorded before the contract module was reorganised (issue 10) replays through today's
 * state machine to the same writes and the same state root at every block. The fixture
 * (`test/fixtures/chains/contracts-v1/`, recorded by `test/fixtures/chains/record.ts`) exercises
 * every module and every contract action, including rejected transactions, monthly decisions, a
 * lapsing item, an expiry and a cascade.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hex } from '../../../node/protocol/hash.ts';
import { blocks, replayFixture } from '../../fixtures/chains/replay.ts';

test('the recorded fixture chain replays to the same writes and state root at every block', () => {
  assert.ok(blocks.length > 30, 'the fixture holds the whole scenario');
  for (const r of replayFixture().replayed) {
    const at = `block ${r.recorded.height}`;
    assert.deepEqual(r.receipts, r.recorded.receipts, `receipts of ${at}`);
    // The writes first: they are what the state transition produced, whatever the root function.
    assert.equal(r.writesHash, r.recorded.writesHash, `writes of ${at}`);
    assert.equal(r.stateRoot, r.recorded.stateRoot, `state root of ${at}`);
  }
});

test('modules answer reads through their queries, so callers need not know their key layouts', () => {
  const { state, modules } = replayFixture();
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
