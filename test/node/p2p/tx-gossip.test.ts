/**
 * Transactions over gossip: what a peer sees of this node's relaying (batches, not one message per
 * transaction) and how its own batches are judged (only a transaction no honest node would have
 * admitted counts against it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Judgement, TopicHandler } from '../../../node/p2p/gossip.ts';
import { MAX_ADMISSION_BACKLOG, TxGossip } from '../../../node/p2p/tx-gossip.ts';
import { TillidError } from '../../../node/protocol/errors.ts';

/** A gossip stand-in that records what is published and exposes the registered validator. */
function fakeGossip() {
  const published: unknown[] = [];
  let handler: TopicHandler<null> | undefined;
  return {
    published,
    judge: (m: unknown) => handler?.validate(m, undefined as never) as Promise<Judgement<null>>,
    gossip: {
      on: (name: string, h: TopicHandler<unknown>) => {
        assert.equal(name, 'tx');
        handler = h as TopicHandler<null>;
      },
      publish: async (name: string, value: unknown) => {
        assert.equal(name, 'tx');
        published.push(value);
      },
    },
  };
}

const admitBy =
  (outcome: Record<string, string>) =>
  async (tx: unknown): Promise<string> => {
    const code = outcome[(tx as { id: string }).id] ?? 'OK';
    if (code === 'OK') return 'a'.repeat(64);
    throw new TillidError(code as never, code);
  };

test('admitted transactions leave in one batch after a short delay, or at once when a batch is full', async () => {
  const { published, gossip } = fakeGossip();
  const txGossip = new TxGossip({ gossip, admit: admitBy({}) });
  txGossip.relay({ id: 'a' });
  txGossip.relay({ id: 'b' });
  assert.equal(published.length, 0, 'nothing is sent per transaction');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(published, [{ transactions: [{ id: 'a' }, { id: 'b' }] }]);

  for (let i = 0; i < 500; i++) txGossip.relay({ id: `t${i}` });
  assert.equal(published.length, 2, 'a full batch is sent without waiting');
  assert.equal((published[1] as { transactions: unknown[] }).transactions.length, 500);

  txGossip.relay({ id: 'last' });
  txGossip.stop();
  assert.deepEqual(published[2], { transactions: [{ id: 'last' }] }, 'stopping sends what is queued');
});

test('each transaction is timed from being queued to leaving in a batch (gossip_send)', async () => {
  const { published, gossip } = fakeGossip();
  const clock = { now: 100 };
  const seen: [string, number][] = [];
  const txGossip = new TxGossip({
    gossip,
    admit: admitBy({}),
    stages: { observe: (stage, seconds) => seen.push([stage, seconds]) },
    clock: () => clock.now,
  });
  txGossip.relay({ id: 'a' });
  clock.now += 4;
  txGossip.relay({ id: 'b' });
  clock.now += 6;
  txGossip.stop();
  assert.equal(published.length, 1);
  assert.deepEqual(seen, [
    ['gossip_send', 0.01],
    ['gossip_send', 0.006],
  ]);
});

test("a peer's batch is rejected only for a transaction no honest node would admit", async () => {
  const { judge, gossip } = fakeGossip();
  new TxGossip({
    gossip,
    admit: admitBy({
      dup: 'TX_DUPLICATE',
      full: 'MEMPOOL_FULL',
      old: 'TX_EXPIRED',
      forged: 'TX_BAD_SIGNATURE',
    }),
  });
  assert.deepEqual(await judge({ transactions: [{ id: 'new' }, { id: 'dup' }] }), {
    verdict: 'accept',
    value: null,
  });
  assert.equal(
    (await judge({ transactions: [{ id: 'dup' }, { id: 'full' }, { id: 'old' }] })).verdict,
    'ignore',
  );
  assert.deepEqual(await judge({ transactions: [{ id: 'new' }, { id: 'forged' }] }), {
    verdict: 'reject',
    reason: 'TX_BAD_SIGNATURE',
  });
  assert.equal((await judge({ transactions: [] })).verdict, 'reject');
  assert.equal((await judge({ not: 'a batch' })).verdict, 'reject');
  const tooMany = Array.from({ length: 501 }, (_, i) => ({ id: `t${i}` }));
  assert.equal((await judge({ transactions: tooMany })).verdict, 'reject');
});

test("with a long admission backlog, a peer's batch is ignored (not forwarded, no blame) until the node catches up", async () => {
  const { judge, gossip } = fakeGossip();
  let backlog = MAX_ADMISSION_BACKLOG + 1;
  let admitted = 0;
  new TxGossip({
    gossip,
    admit: async () => {
      admitted++;
      return 'a'.repeat(64);
    },
    backlog: () => backlog,
  });
  assert.deepEqual(await judge({ transactions: [{ id: 'a' }] }), {
    verdict: 'ignore',
    reason: 'admission backlog',
  });
  assert.equal(admitted, 0, 'no work taken on while behind');
  assert.deepEqual(await judge({ transactions: 'junk' }), {
    verdict: 'reject',
    reason: 'not a transaction batch',
  });
  backlog = 0;
  assert.equal((await judge({ transactions: [{ id: 'a' }] })).verdict, 'accept');
  assert.equal(admitted, 1);
});
