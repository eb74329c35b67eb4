/**
 * Key rotation in the state machine (node/state/modules/governance-rotation.ts): an authority
 * replaces its key, signed by the old key with the new key's proof, effective two blocks later,
 * keeping its seat; and every bad rotation is refused with GOVERNANCE_REFUSED, changing nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transactions } from '../../../client/transactions.ts';
import { canonicalJson } from '../../../node/protocol/canonical.ts';
import { proveRotation } from '../../../node/protocol/rotation.ts';
import { type KeyPair, Signer } from '../../../node/protocol/signature.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { eventsAt } from '../../../node/state/events.ts';
import { authoritiesAt, MEMBERSHIP_DELAY, SCHEDULE_KEY } from '../../../node/state/modules/governance.ts';
import { rotationKey } from '../../../node/state/modules/governance-rotation.ts';
import { memoryChain } from '../../fixtures/memory-chain.ts';
import { devGenesis, generateKeyPair } from '../../fixtures/node.ts';

const members = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
const genesis = devGenesis(members);
const build = transactions(genesis.chainId);
const [a, b, c] = members as [KeyPair, KeyPair, KeyPair];
const keysAt = (state: Parameters<typeof authoritiesAt>[0], height: number) =>
  authoritiesAt(state, genesis, height).map((x) => x.publicKey);

test('an authority rotates its key: same seat, new key from two blocks after the decision', () => {
  const chain = memoryChain(genesis);
  chain.block();
  const next = generateKeyPair();
  const rotation = build.governance.rotate(b, next);
  const [receipt] = chain.block(rotation);
  assert.equal(receipt?.code, 'OK', receipt?.message);
  const decidedAt = chain.height();
  const effectiveFrom = decidedAt + MEMBERSHIP_DELAY;

  // The boundary: the old key up to effectiveFrom - 1, the new one from effectiveFrom, same place.
  const before = keysAt(chain.state, effectiveFrom - 1);
  const after = keysAt(chain.state, effectiveFrom);
  assert.deepEqual(
    before,
    members.map((m) => m.publicKey),
  );
  assert.deepEqual(
    after,
    members.map((m) => (m === b ? next.publicKey : m.publicKey)),
  );
  const seat = (h: number) => authoritiesAt(chain.state, genesis, h)[1];
  assert.deepEqual(
    { ...seat(effectiveFrom), publicKey: '' },
    { ...seat(1), publicKey: '' },
    'name, CVR and address kept',
  );

  const record = chain.state.get(rotationKey(transactionHash(rotation))) as Record<string, unknown>;
  assert.deepEqual(record, {
    id: transactionHash(rotation),
    cvr: seat(1)?.cvr,
    from: b.publicKey,
    to: next.publicKey,
    decidedAt,
    effectiveFrom,
  });
  assert.deepEqual(
    eventsAt(chain.state, decidedAt).map((e) => [e.type, e.from, e.to, e.effectiveFrom]),
    [['governance.key-rotated', b.publicKey, next.publicKey, effectiveFrom]],
  );

  // From the effective height the new key acts for the seat and the old one is no authority.
  chain.block();
  chain.block();
  assert.equal(chain.height(), effectiveFrom);
  const other = generateKeyPair();
  const [byOld, byNew] = chain.block(
    build.governance.propose(b, {
      action: 'add',
      name: 'Egedal Kommune',
      cvr: '44444444',
      publicKey: other.publicKey,
    }),
    build.governance.propose(next, {
      action: 'add',
      name: 'Egedal Kommune',
      cvr: '44444444',
      publicKey: other.publicKey,
    }),
  );
  assert.equal(byOld?.code, 'GOVERNANCE_REFUSED');
  assert.equal(byNew?.code, 'OK', byNew?.message);
});

test('bad rotations are refused and change nothing', () => {
  const chain = memoryChain(genesis);
  chain.block();
  const outsider = generateKeyPair();
  const fresh = generateKeyPair();
  const schedule = () => canonicalJson(chain.state.get(SCHEDULE_KEY) ?? null);
  const unchanged = schedule();
  const signed = (by: KeyPair, publicKey: string, proof: string) =>
    build.sign(by, 'governance.rotate', { publicKey, proof });
  const refused = chain.block(
    // A non-member signs (with a valid proof of a fresh key).
    build.governance.rotate(outsider, fresh),
    // Onto a key already in the set (its holder even signs the proof).
    build.governance.rotate(a, c),
    // The proof is by another key than the new one.
    signed(a, fresh.publicKey, proveRotation(genesis.chainId, a.publicKey, new Signer(outsider))),
    // The proof is for another seat: c's proof replayed by a.
    signed(a, fresh.publicKey, proveRotation(genesis.chainId, c.publicKey, new Signer(fresh))),
    // The proof is for another chain.
    signed(a, fresh.publicKey, proveRotation('another-chain', a.publicKey, new Signer(fresh))),
  );
  for (const r of refused) assert.equal(r.code, 'GOVERNANCE_REFUSED', r.message);
  const proof = "the proof is not the new key's signature of this rotation";
  assert.deepEqual(
    refused.map((r) => r.message),
    [
      'only an authority may rotate its key',
      'the new key is, or has been, an authority key of this chain',
      proof,
      proof,
      proof,
    ],
  );
  assert.equal(schedule(), unchanged, 'no refused rotation touched the schedule');

  // A good rotation; signed again while it is pending, refused (the seat is already leaving).
  const rotation = build.governance.rotate(a, fresh);
  assert.equal(chain.block(rotation)[0]?.code, 'OK');
  const effectiveFrom = chain.height() + MEMBERSHIP_DELAY;
  const afterRotation = schedule();
  const [again] = chain.block(build.governance.rotate(a, generateKeyPair()));
  assert.equal(again?.message, 'this key is already leaving the set (a change is pending)');
  chain.block();
  assert.equal(chain.height(), effectiveFrom);
  // In force now: the old key can no longer rotate, and the new key can never rotate back to it.
  const [oldKey, back] = chain.block(
    build.governance.rotate(a, generateKeyPair()),
    build.governance.rotate(fresh, a),
  );
  assert.equal(oldKey?.message, 'only an authority may rotate its key');
  assert.equal(back?.message, 'the new key is, or has been, an authority key of this chain');
  for (const r of [again, oldKey, back]) assert.equal(r?.code, 'GOVERNANCE_REFUSED');
  assert.equal(schedule(), afterRotation);
  // Replayed as is, the rotation is a duplicate: a block holding it is invalid.
  assert.throws(() => chain.block(rotation), /TX_DUPLICATE/);
});

test('a rotation and a membership change decided in one block compose in transaction order', () => {
  const chain = memoryChain(genesis);
  const newcomer = generateKeyPair();
  const add = build.governance.propose(a, {
    action: 'add',
    name: 'Egedal Kommune',
    cvr: '44444444',
    publicKey: newcomer.publicKey,
  });
  chain.block(add);
  chain.block(build.governance.vote(b, { proposal: transactionHash(add) }));
  const next = generateKeyPair();
  // c's vote approves the addition; c's rotation in the same block must keep the newcomer.
  const receipts = chain.block(
    build.governance.vote(c, { proposal: transactionHash(add) }),
    build.governance.rotate(c, next),
  );
  for (const r of receipts) assert.equal(r.code, 'OK', r.message);
  const at = chain.height() + MEMBERSHIP_DELAY;
  assert.deepEqual(keysAt(chain.state, at), [
    a.publicKey,
    b.publicKey,
    next.publicKey,
    (members[3] as KeyPair).publicKey,
    newcomer.publicKey,
  ]);
  assert.deepEqual(
    keysAt(chain.state, at - 1),
    members.map((m) => m.publicKey),
  );
});
