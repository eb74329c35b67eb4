/**
 * The access log's file: entries and their proofs survive a restart (a new log on the same file),
 * retention erases old anchored entries while the rest still prove into their anchored roots, and
 * an entry is never erased before its root is anchored. The chain here is the list of roots the
 * log asked to anchor (the browser test anchors on a real node and reads the roots back).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AccessLog, type AnchoredEntry, leafOf } from '../../../gateway/access-log/log.ts';
import { rootOf } from '../../../gateway/access-log/merkle-proof.ts';
import { tempDir } from '../../fixtures/node.ts';

const MUNICIPALITY = '29189846';
const CASE_A = 'a'.repeat(64);
const CASE_B = 'b'.repeat(64);
/** A municipality whose nodes do not answer until told to. */
const LATE = '22222222';

function harness(t: { after(fn: () => unknown): void }) {
  const dir = tempDir(t, 'tillid-access-log-');
  const file = join(dir, 'access-log', 'access-log.jsonl');
  const anchored = new Map<string, string>();
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let refuse = false;
  let lateAnswers = false;
  const open = () => {
    const log = AccessLog.open({
      file,
      anchor: async (m, root, ref) => {
        if (refuse || (m === LATE && !lateAnswers)) throw new Error('no node');
        anchored.set(root, ref);
        return `tx-${anchored.size}`;
      },
      intervalMs: 3_600_000,
      retentionDays: 30,
      anchors: (cvr) => cvr === MUNICIPALITY || cvr === LATE,
      now: () => new Date(clock),
    });
    t.after(() => log.stop());
    return log;
  };
  return {
    file,
    open,
    anchored,
    advanceDays: (d: number) => {
      clock += d * 86_400_000;
    },
    refuse: (v: boolean) => {
      refuse = v;
    },
    lateAnswers: () => {
      lateAnswers = true;
    },
  };
}

const read = (caseRef: string, unit: string) => ({
  caseRef,
  municipality: MUNICIPALITY,
  cvr: MUNICIPALITY,
  unit,
  purpose: 'case-handling',
  system: 'console',
});

/** Each entry's proof leads from its recomputed leaf to a root the chain holds. */
function verifies(items: readonly AnchoredEntry[], chain: ReadonlyMap<string, string>) {
  for (const x of items) {
    assert.ok(x.anchored, `entry ${x.entry.seq} anchored`);
    assert.equal(rootOf(leafOf(x.entry), x.anchored.proof), x.anchored.root);
    assert.ok(chain.has(x.anchored.root), `root of entry ${x.entry.seq} on chain`);
  }
}

test('access log: entries and proofs survive a restart; a pending entry is anchored after it', async (t) => {
  const h = harness(t);
  const first = h.open();
  await first.record(read(CASE_A, 'Familieafdelingen'));
  await first.record(read(CASE_B, 'Familieafdelingen'));
  await first.record(read(CASE_A, 'Revision'));
  await first.anchorPending();
  verifies(first.of(CASE_A), h.anchored);
  h.refuse(true);
  await first.record(read(CASE_A, 'Ydelsesafdelingen'));
  await first.anchorPending();
  assert.equal(first.of(CASE_A)[0]?.anchored, undefined, 'not anchored while no node answers');
  await first.stop();

  // A new gateway on the same file.
  const second = h.open();
  const entries = second.of(CASE_A);
  assert.deepEqual(
    entries.map((x) => x.entry.unit),
    ['Ydelsesafdelingen', 'Revision', 'Familieafdelingen'],
  );
  verifies(entries.slice(1), h.anchored);
  assert.equal(entries[0]?.anchored, undefined);
  h.refuse(false);
  await second.anchorPending();
  verifies(second.of(CASE_A), h.anchored);
  await second.record(read(CASE_A, 'Familieafdelingen'));
  assert.equal(second.of(CASE_A)[0]?.entry.seq, 5, 'the sequence continues: no two entries share a leaf');
  // A case of a municipality this gateway does not anchor for is not its to log.
  await second.record({ ...read(CASE_A, 'x'), municipality: '11111111' });
  assert.equal(second.of(CASE_A).length, 4);
});

test('access log retention: old anchored entries are erased, the rest still verify, also after a restart', async (t) => {
  const h = harness(t);
  const log = h.open();
  await log.record(read(CASE_A, 'Gammel-1'));
  await log.record(read(CASE_A, 'Gammel-2'));
  await log.record(read(CASE_B, 'Gammel-3'));
  await log.record({ ...read(CASE_B, 'Gammel-men-ikke-forankret'), municipality: LATE });
  h.advanceDays(20);
  await log.record(read(CASE_A, 'Ny-1'));
  // Gammel-1..3 and Ny-1 in one batch: erasing three of them must leave Ny-1 provable into that root.
  await log.anchorPending();
  h.advanceDays(15);
  const cutoff = new Date(Date.parse('2026-01-01T00:00:00Z') + 5 * 86_400_000);
  assert.equal(await log.eraseBefore(cutoff), 3, 'the three anchored entries older than the cutoff');
  assert.deepEqual(
    log.of(CASE_A).map((x) => x.entry.unit),
    ['Ny-1'],
  );
  verifies(log.of(CASE_A), h.anchored);
  assert.deepEqual(
    log.of(CASE_B).map((x) => x.entry.unit),
    ['Gammel-men-ikke-forankret'],
    'an entry not yet anchored is kept until its root is on chain',
  );
  assert.equal(log.erased()?.count, 3);
  await log.stop();
  const file = readFileSync(h.file, 'utf8');
  assert.doesNotMatch(file, /Gammel-1|Gammel-2|Gammel-3/, 'erased from the file, not only from memory');

  const again = h.open();
  assert.deepEqual(
    again.of(CASE_A).map((x) => x.entry.unit),
    ['Ny-1'],
  );
  verifies(again.of(CASE_A), h.anchored);
  assert.equal(again.erased()?.count, 3);
  h.lateAnswers();
  await again.anchorPending();
  verifies(again.of(CASE_B), h.anchored);

  // Everything erased: after a restart the numbers still continue, never given out twice.
  assert.equal(await again.eraseBefore(new Date('2030-01-01T00:00:00Z')), 2);
  await again.stop();
  const emptied = h.open();
  assert.equal(emptied.of(CASE_A).length + emptied.of(CASE_B).length, 0);
  await emptied.record(read(CASE_A, 'Efter'));
  assert.equal(emptied.of(CASE_A)[0]?.entry.seq, 6);
});
