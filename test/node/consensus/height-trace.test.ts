/**
 * Where a height's time goes (node/consensus/height-trace.ts): the steps an operator reads on
 * /metrics as tillid_consensus_step_seconds{step}, from the host's calls on a virtual clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { HeightTrace } from '../../../node/consensus/height-trace.ts';
import { RoundMetrics } from '../../../node/consensus/metrics.ts';
import type { ConsensusMessage } from '../../../node/consensus/tendermint/messages.ts';

const proposal = (height: number) =>
  ({ kind: 'proposal', proposal: { height } }) as unknown as ConsensusMessage;
const vote = (type: 'prevote' | 'precommit', height: number) =>
  ({ kind: 'vote', vote: { type, height } }) as unknown as ConsensusMessage;

function traced() {
  let now = 0;
  return { trace: new HeightTrace(() => now), at: (ms: number) => (now = ms) };
}

test("a validator's height: the wait, the proposal's arrival, validation to its prevote, the quorums, the commit", () => {
  const { trace, at } = traced();
  at(0);
  trace.synced(); // the previous head landed at 0
  at(250);
  trace.started(7);
  at(700);
  trace.received(proposal(7));
  at(1100);
  trace.sent(vote('prevote', 7));
  at(1300);
  trace.sent(vote('precommit', 7));
  at(1340);
  trace.decided();
  at(1500);
  assert.deepEqual(trace.committed(7), {
    wait: 250,
    proposal: 450,
    validate: 400,
    prevotes: 200,
    precommits: 40,
    commit: 160,
  });
});

test("the proposer's height times its own proposal; a proposal that came before the height counts from its start", () => {
  const { trace, at } = traced();
  at(0);
  trace.started(3);
  trace.received(proposal(4)); // the next height's proposer was quicker than us
  at(300);
  trace.sent(proposal(3));
  trace.sent(vote('prevote', 3));
  at(350);
  trace.sent(vote('precommit', 3));
  at(360);
  trace.decided();
  at(400);
  assert.deepEqual(trace.committed(3), {
    propose: 300,
    validate: 0,
    prevotes: 50,
    precommits: 10,
    commit: 40,
  });
  at(400);
  trace.started(4);
  trace.sent(vote('prevote', 4));
  trace.sent(vote('precommit', 4));
  trace.decided();
  at(450);
  assert.deepEqual(trace.committed(4), {
    wait: 0,
    proposal: 0,
    validate: 0,
    prevotes: 0,
    precommits: 0,
    commit: 50,
  });
});

test('a height with a round change, or without its own votes, is not split into steps', () => {
  const { trace, at } = traced();
  trace.started(5);
  trace.received(proposal(5));
  trace.sent(vote('prevote', 5));
  trace.roundChanged();
  trace.sent(vote('precommit', 5));
  trace.decided();
  at(10);
  assert.equal(trace.committed(5), undefined);
  trace.started(6);
  trace.decided();
  assert.equal(trace.committed(6), undefined);
});

test('the steps reach /metrics as tillid_consensus_step_seconds{step}', async () => {
  const registry = new Registry();
  const rounds = new RoundMetrics(registry, () => 0);
  rounds.stepsTimed({ validate: 400, commit: 160 });
  rounds.stepsTimed({ validate: 200 });
  const text = await registry.metrics();
  assert.match(text, /tillid_consensus_step_seconds_sum\{step="validate"\} 0\.6/);
  assert.match(text, /tillid_consensus_step_seconds_count\{step="validate"\} 2/);
  assert.match(text, /tillid_consensus_step_seconds_count\{step="commit"\} 1/);
});
