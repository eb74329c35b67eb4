/**
 * When the next height starts (node/consensus/pacing.ts), on a virtual clock: the block interval
 * counts from the previous height's start, so a height that took longer than the interval is
 * followed at once and a short one only waits out the rest; a full proposal's worth of bytes
 * waiting starts the next height at once; an idle wait ends one interval after the last start.
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

const work = { size: 10, bytes: 10_000 };
const MAX_COUNT = 5000;
const MAX_BYTES = 1024 * 1024;

test('a height shorter than the block interval waits only for the rest of it, counted from its start', async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(1000);
  p.started();
  clock.at(1100); // committed after 100 ms
  p.afterCommit(work, MAX_COUNT, MAX_BYTES);
  await clock.advance(1400);
  assert.deepEqual(
    starts,
    [1250],
    'the next height starts 250 ms after the last one started, not after its commit',
  );
});

test('a height longer than the block interval is followed at once', async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(1000);
  p.started();
  clock.at(1700); // a heavy block: 700 ms from start to commit
  p.afterCommit(work, MAX_COUNT, MAX_BYTES);
  await clock.advance(1700);
  assert.deepEqual(starts, [1700]);
});

test("a mempool holding a full proposal's bytes starts the next height at once, as a full count does", async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(1000);
  p.started();
  clock.at(1010);
  p.afterCommit({ size: 900, bytes: MAX_BYTES }, MAX_COUNT, MAX_BYTES);
  await clock.advance(1010);
  assert.deepEqual(starts, [1010]);
  p.started();
  clock.at(1020);
  p.afterCommit({ size: MAX_COUNT, bytes: 1 }, MAX_COUNT, MAX_BYTES);
  await clock.advance(1020);
  assert.deepEqual(starts, [1010, 1020]);
});

test('an idle wait for the empty-block interval ends one block interval after the last start when work arrives', async () => {
  const { p, clock, starts } = pacing(250, 60_000);
  clock.at(1000);
  p.started();
  clock.at(1050);
  p.afterCommit({ size: 0, bytes: 0 }, MAX_COUNT, MAX_BYTES);
  assert.equal(p.idle, true);
  await clock.advance(1200);
  assert.deepEqual(starts, [], 'nothing to do: no block yet');
  p.wake();
  assert.equal(p.idle, false);
  await clock.advance(1300);
  assert.deepEqual(starts, [1250]);
});

test('with nothing to do and no work arriving, the next height waits the empty-block interval from the last start', async () => {
  const { p, clock, starts } = pacing(250, 60_000);
  clock.at(1000);
  p.started();
  clock.at(1050);
  p.afterCommit({ size: 0, bytes: 0 }, MAX_COUNT, MAX_BYTES);
  await clock.advance(100_000);
  assert.deepEqual(starts, [61_000]);
});

test('the first height after a start waits the whole interval from the commit (no earlier start known)', async () => {
  const { p, clock, starts } = pacing(250);
  clock.at(5000);
  p.afterCommit(work, MAX_COUNT, MAX_BYTES);
  await clock.advance(6000);
  assert.deepEqual(starts, [5250]);
});
