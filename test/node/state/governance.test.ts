import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransactionType } from '../../../client/payloads.ts';
import { transactions } from '../../../client/transactions.ts';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { eventsAt } from '../../../node/state/events.ts';
import { executeBlock, receiptKey } from '../../../node/state/machine.ts';
import {
  authoritiesAt,
  MEMBERSHIP_DELAY,
  PROPOSAL_LIFETIME,
  proposalKey,
} from '../../../node/state/modules/governance.ts';
import { MemoryState } from '../../../node/state/overlay.ts';
import { memoryChain, rulesOf } from '../../fixtures/memory-chain.ts';
import { devGenesis, generateKeyPair } from '../../fixtures/node.ts';

const members = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
const newcomer = generateKeyPair();
const genesis = devGenesis(members);

/** A chain in memory: each `run` executes one block and returns the receipts. */
function chain() {
  const c = memoryChain(genesis);
  return { state: c.state, run: c.block, height: c.height };
}

const build = transactions(genesis.chainId);
const tx = (signer: KeyPair, type: string, payload: Record<string, string>) =>
  build.sign(signer, type as TransactionType, payload as never, { expiresAt: Date.now() + 60_000 });
const propose = (by: KeyPair, action: 'add' | 'remove', key: KeyPair) =>
  tx(by, 'governance.propose', { action, name: 'Egedal Kommune', cvr: '44444444', publicKey: key.publicKey });
const vote = (by: KeyPair, proposal: string) => tx(by, 'governance.vote', { proposal });

test('an authority is added once more than two thirds vote, effective two blocks later', () => {
  const c = chain();
  const proposal = propose(members[0] as KeyPair, 'add', newcomer);
  const id = transactionHash(proposal);
  assert.deepEqual(c.run(proposal), [{ height: 1, index: 0, code: 'OK' }]);
  c.run(vote(members[1] as KeyPair, id));
  assert.equal((c.state.get(proposalKey(id)) as { status: string }).status, 'open', '2 of 4 is not enough');
  c.run(vote(members[2] as KeyPair, id));
  const approved = c.state.get(proposalKey(id)) as { status: string; effectiveFrom: number };
  assert.equal(approved.status, 'approved', '3 of 4 is more than two thirds');
  assert.equal(approved.effectiveFrom, 3 + MEMBERSHIP_DELAY);
  assert.equal(authoritiesAt(c.state, genesis, 4).length, 4);
  assert.deepEqual(
    authoritiesAt(c.state, genesis, 5).map((a) => a.publicKey),
    [...members.map((m) => m.publicKey), newcomer.publicKey],
  );
  assert.equal(authoritiesAt(c.state, genesis, 1).length, 4, 'earlier heights keep their set');
  // Systems outside the chain hear of it once, in the block that decided it.
  assert.deepEqual(
    [1, 2, 3].flatMap((h) => eventsAt(c.state, h)).map((e) => [e.type, e.height, e.cvr, e.effectiveFrom]),
    [['governance.membership-changed', 3, '44444444', 3 + MEMBERSHIP_DELAY]],
  );
});

test('membership transactions are refused from non-authorities, twice, late, or when they make no sense', () => {
  const c = chain();
  const proposal = propose(members[0] as KeyPair, 'add', newcomer);
  const id = transactionHash(proposal);
  c.run(proposal);
  const [outsider, twice, unknown, alreadyMember, notMember] = c.run(
    vote(newcomer, id),
    vote(members[0] as KeyPair, id),
    vote(members[1] as KeyPair, 'ab'.repeat(32)),
    propose(members[1] as KeyPair, 'add', members[2] as KeyPair),
    propose(members[1] as KeyPair, 'remove', generateKeyPair()),
  );
  for (const receipt of [outsider, twice, unknown, alreadyMember, notMember])
    assert.equal(receipt?.code, 'GOVERNANCE_REFUSED', receipt?.message);
  assert.deepEqual((c.state.get(proposalKey(id)) as { votes: string[] }).votes, [members[0]?.publicKey]);
  assert.ok(PROPOSAL_LIFETIME > 100);
});

test('an authority can be removed, but never the last one', () => {
  const solo = devGenesis([members[0] as KeyPair]);
  const soloRules = rulesOf(solo);
  const state = new MemoryState();
  const removal = propose(members[0] as KeyPair, 'remove', members[0] as KeyPair);
  const r = executeBlock(
    state,
    '00'.repeat(32),
    [{ tx: removal, hash: transactionHash(removal) }],
    { chainId: solo.chainId, height: 1, timestamp: Date.now(), proposer: members[0]?.publicKey as string },
    soloRules,
    'validate',
  );
  state.apply(r.writes);
  assert.equal(
    (state.get(receiptKey(transactionHash(removal))) as { code: string }).code,
    'GOVERNANCE_REFUSED',
  );
  assert.equal(authoritiesAt(state, solo, 10).length, 1);

  const c = chain();
  const out = propose(members[0] as KeyPair, 'remove', members[3] as KeyPair);
  const id = transactionHash(out);
  c.run(out, vote(members[1] as KeyPair, id), vote(members[2] as KeyPair, id));
  assert.deepEqual(
    authoritiesAt(c.state, genesis, 1 + MEMBERSHIP_DELAY).map((a) => a.publicKey),
    members.slice(0, 3).map((m) => m.publicKey),
  );
});
