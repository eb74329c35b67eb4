/**
 * Proven reads of the placement case — a contract and a municipality's payment decisions of a
 * month — built from a real Chain whose authority set changes midway, and checked against the
 * genesis alone. The lies a faulty node could tell all fail: forged contract state, a payment that
 * was never decided, an omitted one, a proof for another height, a left-out authority change.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Chain } from '../../../node/chain/chain.ts';
import { proveRead } from '../../../node/chain/prove.ts';
import { MemoryChainStore } from '../../../node/chain/store.ts';
import type { Hex } from '../../../node/protocol/hash.ts';
import { generateKeyPair, type KeyPair, Signer } from '../../../node/protocol/signature.ts';
import { signTransaction, type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { verifyProvenRead } from '../../../node/state/commitment/proven-read.ts';
import type { Receipt } from '../../../node/state/machine.ts';

import { castOfCase, contractsGenesis, MUNICIPALITY_CVR, setUpCase, txBuilder } from '../../contracts.ts';
import { commitBlock } from '../../fixtures/commit.ts';

/** A proven read as a tampering test edits it: loosely typed on purpose. */
// biome-ignore lint/suspicious/noExplicitAny: the tests forge arbitrary fields
type Loose = any;

async function world() {
  const cast = castOfCase();
  const genesis = contractsGenesis([cast.authority]);
  const chain = await Chain.openStorage(new MemoryChainStore(), genesis, applicationModules(genesis));
  const keys = new Map<Hex, KeyPair>([[cast.authority.publicKey, cast.authority]]);
  const second = generateKeyPair();
  keys.set(second.publicKey, second);
  /** Proposes, certifies (every current authority signs) and commits one block. */
  const block = async (...txs: Transaction[]): Promise<Receipt[]> => {
    const hashes = await commitBlock(chain, cast.authority.publicKey, txs, (height) =>
      chain
        .authoritiesAt(height)
        .sort()
        .map((a) => new Signer(keys.get(a) as KeyPair)),
    );
    return hashes.map((h) => chain.receipt(h) as Receipt);
  };
  const ok = async (...txs: Transaction[]) => {
    for (const r of await block(...txs)) assert.equal(r.code, 'OK', `${r.code} ${r.message ?? ''}`);
  };
  return { cast, genesis, chain, block, ok, second };
}

test('a contract and its month of payment decisions, proven across an authority change; the lies fail', async () => {
  const { cast, genesis, chain, block, ok, second } = await world();
  const b = txBuilder(genesis.chainId);
  // setUpCase drives a synchronous chain; run its blocks here by collecting them first.
  const pending: Transaction[][] = [];
  const collect = (...txs: Transaction[]) => {
    pending.push(txs);
    return txs.map(() => ({ code: 'OK' }));
  };
  const templateId = setUpCase({ block: collect } as never, b, cast);
  for (const txs of pending) await ok(...txs);

  // A second authority joins: from two blocks later both must sign.
  await ok(
    signTransaction(
      {
        chainId: genesis.chainId,
        type: 'governance.propose',
        payload: { action: 'add', name: 'Anden Kommune', cvr: '29189847', publicKey: second.publicKey },
        signer: cast.authority.publicKey,
        nonce: randomUUID(),
        expiresAt: chain.head.timestamp + 60_000,
      },
      cast.authority.privateKey,
    ),
  );
  const changeAt = chain.head.height + 2;
  await block();
  await block();
  assert.equal(chain.authoritiesAt(chain.head.height).length, 2);

  const create = b.create(cast.caseworker, {
    template: templateId,
    provider: cast.careHomeRep.cvr,
    start: '2026-02-01',
    months: 12,
    reportEveryMonths: 3,
    items: [{ code: 'residential', monthly: 4_500_000 }],
  } as never);
  await ok(create);
  const id = transactionHash(create);
  const motion = b.propose(cast.caseworker, id, 'activate');
  await ok(motion);
  await ok(b.approve(cast.careHomeRep, transactionHash(motion)));
  // Business day = origin + height: run into March so February's month is decided (1 March).
  while (chain.head.height < 62) await block();

  const payments = await proveRead(chain, {
    kind: 'payments',
    municipality: MUNICIPALITY_CVR,
    month: '2026-03',
  });
  const verdict = verifyProvenRead(genesis, payments);
  assert.ok(verdict.ok, JSON.stringify(verdict));
  const decisions = (payments.value as { decisions: { type: string; contract: Hex }[] }).decisions;
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0]?.contract, id);
  assert.deepEqual(
    payments.authorityChanges.map((s) => s.header.height),
    [changeAt - 1],
  );

  const contract = await proveRead(chain, { kind: 'contract', id });
  assert.ok(verifyProvenRead(genesis, contract).ok);
  assert.equal((contract.value as { status: string }).status, 'active');
  assert.equal((contract.value as { payments: unknown[] }).payments.length, 1);

  const fails = (input: unknown, why: RegExp) => {
    const v = verifyProvenRead(genesis, input);
    assert.equal(v.ok, false);
    assert.match((v as { reason: string }).reason, why);
  };
  // Forged contract state: another amount in the answer, or in the proven entry as well.
  const forged = structuredClone(contract) as Loose;
  forged.value.status = 'terminated';
  fails(forged, /the value is not what the proven state says/);
  const deep = structuredClone(contract) as Loose;
  const entry = deep.entries.find((e: { key: string }) => e.key === `contract/${id}`);
  entry.value.status = 'terminated';
  deep.value.status = 'terminated';
  fails(deep, /does not lead to the state root/);
  // A payment decision that was never made, and one left out.
  const invented = structuredClone(payments) as Loose;
  invented.value.decisions.push({ ...invented.value.decisions[0], period: 2 });
  fails(invented, /the value is not what the proven state says/);
  const omitted = structuredClone(payments) as Loose;
  omitted.value.decisions = [];
  fails(omitted, /the value is not what the proven state says/);
  // The same proofs presented under another height's certified header.
  await block();
  const later = await proveRead(chain, { kind: 'party', cvr: MUNICIPALITY_CVR });
  fails(
    {
      ...payments,
      header: later.header,
      certificate: later.certificate,
      height: later.height,
      blockHash: later.blockHash,
    },
    /schedule|state root/,
  );
  // Without the authority change, the header's signers are not the set the genesis leads to.
  fails({ ...payments, authorityChanges: [] }, /non-authority/);
  // The absent: a contract that does not exist is proven absent, and cannot be claimed present.
  const none = await proveRead(chain, { kind: 'contract', id: 'cd'.repeat(32) });
  assert.equal(none.value, null);
  assert.ok(verifyProvenRead(genesis, none).ok);
  fails({ ...none, value: contract.value }, /not what the proven state says/);
  const bytes = JSON.stringify(contract).length;
  assert.ok(bytes < 64_000, `a contract read is ${bytes} bytes`);
});
