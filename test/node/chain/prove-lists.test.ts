/**
 * Proven list views of one party — its contracts, its due and overdue reports, the payment
 * decisions it sees in a month — built from a real Chain and checked against the genesis alone. The
 * lists come from the party's index, whose proven length means none can be left out, and every
 * contract behind them is proven too: a forged status, an omitted contract or report, an invented
 * payment all fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proveRead } from '../../../node/chain/prove.ts';
import type { Hex } from '../../../node/protocol/hash.ts';
import { verifyProvenRead } from '../../../node/state/commitment/proven-read.ts';
import { contractSummaries } from '../../../node/state/contracts/read-models.ts';
import { CARE_HOME_CVR, MUNICIPALITY_CVR, TAXI_CVR } from '../../fixtures/contracts.ts';
import { certifiedContractsChain } from '../../fixtures/proven-chain.ts';

// biome-ignore lint/suspicious/noExplicitAny: the tests forge arbitrary fields
type Loose = any;

test("a party's contracts, reports and payments are proven whole; forged and omitted entries fail", async () => {
  const { genesis, chain, ids } = await certifiedContractsChain();
  const prove = async (spec: Parameters<typeof proveRead>[1]) => {
    const proven = await proveRead(chain, spec);
    const verdict = verifyProvenRead(genesis, proven);
    assert.ok(verdict.ok, JSON.stringify(verdict));
    return proven as Loose;
  };
  const fails = (input: unknown, why: RegExp) => {
    const v = verifyProvenRead(genesis, input);
    assert.equal(v.ok, false);
    assert.match((v as { reason: string }).reason, why);
  };

  // Present: the same answers as the plain API, for the provider and for the municipality.
  for (const party of [CARE_HOME_CVR, MUNICIPALITY_CVR]) {
    const contracts = await prove({ kind: 'contracts', party });
    assert.deepEqual(
      contracts.value.contracts.map((c: { id: Hex; status: string }) => [c.id, c.status]),
      ids.map((id) => [id, 'active']),
    );
    assert.deepEqual(
      contracts.value.contracts,
      contractSummaries(chain.rules.committedState as never, party) as Loose,
    );
  }
  const reports = await prove({ kind: 'reports', party: CARE_HOME_CVR });
  assert.deepEqual(
    reports.value.reports.map((d: { contract: Hex; status: string }) => [d.contract, d.status]),
    [
      [ids[0], 'overdue'],
      [ids[0], 'upcoming'],
      [ids[1], 'overdue'],
      [ids[1], 'upcoming'],
    ],
  );
  const seen = await prove({ kind: 'partyPayments', party: CARE_HOME_CVR, month: '2026-03' });
  assert.deepEqual(
    seen.value.decisions.map((d: { contract: Hex }) => d.contract),
    ids,
  );

  // Empty: a provider without contracts, and a party that does not exist, see empty lists.
  for (const party of [TAXI_CVR, '12345678']) {
    assert.deepEqual((await prove({ kind: 'contracts', party })).value, { contracts: [] });
    assert.deepEqual((await prove({ kind: 'reports', party })).value, { reports: [] });
    assert.deepEqual((await prove({ kind: 'partyPayments', party, month: '2026-03' })).value, {
      decisions: [],
    });
  }

  // Tampered: a forged status, an omitted contract, an omitted report, an invented payment.
  const contracts = await prove({ kind: 'contracts', party: CARE_HOME_CVR });
  const forged = structuredClone(contracts);
  forged.value.contracts[1].status = 'terminated';
  fails(forged, /the value is not what the proven state says/);
  const deep = structuredClone(contracts);
  const entry = deep.entries.find((e: { key: string }) => e.key === `contract/${ids[1]}`);
  entry.value.status = 'terminated';
  deep.value.contracts[1].status = 'terminated';
  fails(deep, /does not lead to the state root/);
  const omitted = structuredClone(contracts);
  omitted.value.contracts.pop();
  fails(omitted, /the value is not what the proven state says/);
  // Leaving the contract's proof out as well: the index still names it, so the read cannot be derived.
  omitted.entries = omitted.entries.filter((e: { key: string }) => e.key !== `contract/${ids[1]}`);
  fails(omitted, /does not cover/);
  const dropped = structuredClone(reports);
  dropped.value.reports.splice(0, 1);
  fails(dropped, /the value is not what the proven state says/);
  const invented = structuredClone(seen);
  invented.value.decisions.push({ ...invented.value.decisions[0], period: 2 });
  fails(invented, /the value is not what the proven state says/);
  // The answer for one party presented as another's: that party's index is not among the proofs.
  fails(
    { ...contracts, read: { kind: 'contracts', party: TAXI_CVR } },
    /contract\/by\/33333333.*does not cover/,
  );
  // A changed byte in a sibling hash of the index entry.
  const index = structuredClone(contracts);
  const list = index.entries.find((e: { key: string; siblings: string[] }) => e.siblings.length > 0);
  list.siblings[0] = `${list.siblings[0][0] === '0' ? '1' : '0'}${list.siblings[0].slice(1)}`;
  fails(index, /does not lead to the state root/);
  await chain.close();
});
