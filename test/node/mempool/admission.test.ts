/**
 * Admission runs an action's own check against committed state: an approval whose signing key
 * cannot act for the claimed party and role is refused at the door with the code the block would
 * record, instead of being accepted (202) and rejected inside a block.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitTransaction } from '../../../node/mempool/admission.ts';
import { Mempool } from '../../../node/mempool/mempool.ts';
import { TillidError } from '../../../node/protocol/errors.ts';
import {
  type Transaction,
  transactionHash,
  transactionSignatureValid,
} from '../../../node/protocol/transaction.ts';
import { applicationModules } from '../../../node/state/application.ts';
import type { Rules } from '../../../node/state/machine.ts';
import { CARE_HOME_CVR, caseOnMemoryChain, MUNICIPALITY_CVR } from '../../fixtures/contracts.ts';

function world() {
  const { cast, genesis, chain, b, template } = caseOnMemoryChain();
  const create = b.create(cast.caseworker, {
    template,
    provider: CARE_HOME_CVR,
    start: '2026-02-01',
    items: [{ code: 'residential', monthly: 4_500_000 }],
    reportEveryMonths: 1,
  });
  const motion = b.propose(cast.caseworker, transactionHash(create), 'activate');
  chain.block(create);
  chain.block(motion);
  const rules: Rules = {
    chainId: genesis.chainId,
    params: genesis.params,
    modules: applicationModules(genesis),
    committedState: chain.state,
  };
  const admit = (tx: Transaction) =>
    admitTransaction(tx, {
      rules,
      mempool: new Mempool({ maxTransactions: 100, maxBytes: 1_000_000 }),
      receipt: () => undefined,
      now: Date.now,
      verify: async (t, h) => transactionSignatureValid(t, h),
    });
  /** The code a block records for `tx`. */
  const blockCode = (tx: Transaction) => chain.block(tx)[0]?.code;
  return { cast, b, chain, admit, blockCode, motion: transactionHash(motion) };
}

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TillidError, String(e));
    return e.code;
  }
  return 'ADMITTED';
};

test('an approval by a provider key claiming a municipal role is refused on admission, with the block’s code', async () => {
  const w = world();
  const asDirector = w.b.sign(w.cast.careHome.key, 'contract.approve', {
    as: { party: MUNICIPALITY_CVR, role: 'director', actor: w.cast.careHomeRep.actor },
    motion: w.motion,
  });
  assert.equal(await refusal(w.admit(asDirector)), 'PARTY_KEY_UNKNOWN');
  assert.equal(w.blockCode(asDirector), 'PARTY_KEY_UNKNOWN');
  const ownPartyWrongRole = w.b.sign(w.cast.careHome.key, 'contract.approve', {
    as: { party: CARE_HOME_CVR, role: 'director', actor: w.cast.careHomeRep.actor },
    motion: w.motion,
  });
  assert.equal(await refusal(w.admit(ownPartyWrongRole)), 'ROLE_NOT_ALLOWED');
  assert.equal(w.blockCode(ownPartyWrongRole), 'ROLE_NOT_ALLOWED');
});

test('an approval by a party that is not on the motion’s contract is refused on admission', async () => {
  const w = world();
  const stranger = w.b.approve(w.cast.taxiRep, w.motion);
  assert.equal(await refusal(w.admit(stranger)), 'PARTY_NOT_ON_CONTRACT');
  assert.equal(w.blockCode(stranger), 'PARTY_NOT_ON_CONTRACT');
});

test('an approval of a motion that has executed is refused on admission', async () => {
  const w = world();
  w.chain.block(w.b.approve(w.cast.careHomeRep, w.motion)); // activates the contract
  const late = w.b.approve(w.cast.careHomeRep, w.motion);
  assert.equal(await refusal(w.admit(late)), 'CONTRACT_STATE');
  assert.equal(w.blockCode(late), 'CONTRACT_STATE');
});

test('a proper approval is admitted, and one for a motion still pending is left to the block', async () => {
  const w = world();
  assert.equal(await refusal(w.admit(w.b.approve(w.cast.careHomeRep, w.motion))), 'ADMITTED');
  const pending = w.b.propose(w.cast.caseworker, w.motion, 'terminate');
  assert.equal(await refusal(w.admit(w.b.approve(w.cast.careHomeRep, transactionHash(pending)))), 'ADMITTED');
});
