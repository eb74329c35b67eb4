/**
 * When the next height starts (node/consensus/pacing.ts), on a virtual clock: the block interval
 * after the commit, at once when a full block's count of transactions waits, the empty-block
 * interval with nothing to do, and an idle wait ended by work one interval after the commit. (A
 * rule counting the interval from the height's start was measured and not kept: README, "K1".)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTimers } from '../../../node/consensus/host-ports.ts';
import { HeightPacing } from '../../../node/consensus/pacing.ts';

/** Timers on a clock that only moves when the test says so. */
function virtualTimers() {
  let now = 0;
  let next = 0;
  const pending = new Map<number, { at: number; run: () => Promise<void> }>();
  const timers: HostTimers = {
    now: () => now,
    set(delayMs, run) {
      const id = next++;
      pending.set(id, { at: now + delayMs, run });
      return id;
    },
    clear(id) {
      pending.delete(id);
    },
  };
  /** Moves the clock to `to`, running every timer due on the way, in order. */
  const advance = async (to: number) => {
    for (;;) {
      const due = [...pending.entries()].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      pending.delete(due[0]);
      now = due[1].at;
      await due[1].run();
    }
    now = to;
  };
  return { timers, advance, at: (ms: number) => (now = ms) };
}

function pacing(blockMs: number, emptyMs = blockMs) {
  const clock = virtualTimers();
  const starts: number[] = [];
  const p = new HeightPacing(clock.timers, blockMs, emptyMs, async () => {
    starts.push(clock.timers.now());
  });
  return { p, clock, starts };
}

const work = { size: 10 };
const MAX_COUNT = 5000;

test('the next height starts one block interval after the commit', async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(1100);
  p.afterCommit(work.size, MAX_COUNT);
  await clock.advance(1400);
  assert.deepEqual(starts, [1350]);
});

test("a full block's count of transactions waiting starts the next height at once", async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(1010);
  p.afterCommit(MAX_COUNT, MAX_COUNT);
  await clock.advance(1010);
  assert.deepEqual(starts, [1010]);
});

test('an idle wait for the empty-block interval ends one block interval after the commit when work arrives', async () => {
  const { p, clock, starts } = pacing(250, 60_000);
  clock.at(1050);
  p.afterCommit(0, MAX_COUNT);
  assert.equal(p.idle, true);
  await clock.advance(1200);
  assert.deepEqual(starts, [], 'nothing to do: no block yet');
  p.wake();
  assert.equal(p.idle, false);
  await clock.advance(1400);
  assert.deepEqual(starts, [1300]);
});

test('with nothing to do and no work arriving, the next height waits the empty-block interval', async () => {
  const { p, clock, starts } = pacing(250, 60_000);
  clock.at(1050);
  p.afterCommit(0, MAX_COUNT);
  await clock.advance(100_000);
  assert.deepEqual(starts, [61_050]);
});

test('work arriving after the block interval has passed starts the height at once', async () => {
  const { p, clock, starts } = pacing(250, 60_000);
  clock.at(1000);
  p.afterCommit(0, MAX_COUNT);
  await clock.advance(5000);
  p.wake();
  await clock.advance(5000);
  assert.deepEqual(starts, [5000]);
});
