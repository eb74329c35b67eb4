/**
 * The host's keeping of messages for heights its engine has not started (early-messages.ts): what
 * a node behind by sync must not lose, within bounds a peer cannot stretch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EarlyMessages } from '../../../node/consensus/early-messages.ts';
import { type ConsensusMessage, signVote } from '../../../node/consensus/tendermint/messages.ts';
import { sha256, sha256Hex } from '../../../node/protocol/hash.ts';
import { keyPairFromSeed, Signer } from '../../../node/protocol/signature.ts';

const signers = [0, 1].map((i) => new Signer(keyPairFromSeed(sha256(`early-test/${i}`))));
const vote = (
  height: number,
  round: number,
  by = 0,
  type: 'prevote' | 'precommit' = 'prevote',
): ConsensusMessage => ({
  kind: 'vote',
  vote: signVote(
    { chainId: 'tillid-test', type, height, round, blockHash: sha256Hex(`block ${height}`) },
    signers[by] as Signer,
  ),
});

test('messages for the next two heights are kept and handed over once, in arrival order', () => {
  const early = new EarlyMessages();
  const head = 10;
  const a = vote(11, 0);
  const b = vote(11, 0, 1);
  const c = vote(12, 0);
  assert.ok(early.keep(a, head));
  assert.ok(early.keep(b, head));
  assert.ok(early.keep(c, head));
  assert.ok(!early.keep(a, head), 'a duplicate is not kept twice');
  assert.ok(!early.keep(vote(13, 0), head), 'beyond two heights ahead: block sync, not consensus');
  assert.ok(!early.keep(vote(10, 0), head), 'the head is final');
  assert.ok(early.has(11) && early.has(12) && !early.has(13));
  assert.deepEqual(early.take(11), [a, b]);
  assert.deepEqual(early.take(11), [], 'handed over once');
  assert.deepEqual(early.take(12), [c]);
});

test('at most a bound per authority and height, and what becomes final is forgotten', () => {
  const early = new EarlyMessages(3);
  for (let round = 0; round < 5; round++) early.keep(vote(11, round), 10);
  assert.ok(early.keep(vote(11, 0, 1), 10), "one authority's flood does not crowd out another");
  assert.equal(early.take(11).length, 4);
  early.keep(vote(11, 0), 10);
  early.keep(vote(12, 0), 10);
  early.forget(11);
  assert.ok(!early.has(11), 'the head moved past it');
  assert.ok(early.has(12));
});
