/**
 * The durable signed-vote log: it knows when it was lost (its file is made on first open), a line
 * is on disk when `record` returns, and stale heights are compacted away only now and then, never
 * losing a line still needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSignedVoteLog } from '../../../node/consensus/tendermint/file-signed-log.ts';
import { type SignedEntry, slotOf } from '../../../node/consensus/tendermint/signed-log.ts';

test('a signed-vote log whose file is missing says so; once opened, the file vouches for it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-signed-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signed-votes.jsonl');
  const first = new FileSignedVoteLog(path);
  assert.equal(first.lost, true);
  first.close();
  const reopened = new FileSignedVoteLog(path);
  assert.equal(reopened.lost, false, 'an empty log that was kept is not lost: nothing was signed');
  reopened.close();
  rmSync(path);
  const restored = new FileSignedVoteLog(path);
  assert.equal(restored.lost, true);
  restored.close();
});

test('a signed line is in the file when record returns; the file is compacted once enough lines are stale, and a reopened log still knows every height not yet pruned', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-signed-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signed-votes.jsonl');
  const vote = (height: number, round: number, type: 'prevote' | 'precommit'): SignedEntry => ({
    kind: 'vote',
    vote: { chainId: 'c', height, round, type, blockHash: null, voter: 'ab', signature: '00' } as never,
  });
  const linesInFile = () => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  const slots = (log: FileSignedVoteLog, heights: number[]) =>
    heights.flatMap((h) =>
      log.signedAt(h).map((e) => {
        const s = slotOf(e);
        return `${s.height}/${s.round}/${s.type}`;
      }),
    );

  const log = new FileSignedVoteLog(path, { compactAfter: 3 });
  log.record(vote(1, 0, 'prevote'));
  assert.equal(linesInFile(), 1, 'written before record returned');
  assert.throws(() => log.record(vote(1, 0, 'prevote')), /already signed/);
  assert.equal(linesInFile(), 1, 'a refused second signature writes nothing');
  log.record(vote(1, 0, 'precommit'));
  log.record(vote(2, 0, 'prevote'));
  log.prune(2);
  assert.equal(log.signedAt(1).length, 0, 'forgotten in memory at once');
  assert.equal(linesInFile(), 3, 'two stale lines stay in the file: not enough to compact');
  log.record(vote(2, 0, 'precommit'));
  log.record(vote(3, 0, 'prevote'));
  log.prune(3);
  assert.deepEqual(slots(log, [1, 2, 3]), ['3/0/prevote']);
  assert.equal(linesInFile(), 1, 'compacted once four lines were stale');
  log.record(vote(3, 0, 'precommit'));
  log.prune(4);
  log.record(vote(4, 0, 'prevote'));
  assert.equal(linesInFile(), 3);
  log.close();

  // A restart reads the stale lines back too; they are harmless (nothing is signed below the
  // head) and go with a later compaction.
  const reopened = new FileSignedVoteLog(path, { compactAfter: 3 });
  assert.equal(reopened.lost, false);
  assert.deepEqual(slots(reopened, [3, 4]), ['3/0/prevote', '3/0/precommit', '4/0/prevote']);
  assert.throws(
    () => reopened.record(vote(4, 0, 'prevote')),
    /already signed/,
    'never signs twice after a restart',
  );
  reopened.record(vote(4, 0, 'precommit'));
  reopened.record(vote(5, 0, 'prevote'));
  reopened.prune(5);
  assert.equal(linesInFile(), 1, 'every finished height compacted away');
  reopened.record(vote(5, 0, 'precommit'));
  reopened.close();
  const again = new FileSignedVoteLog(path);
  assert.deepEqual(
    slots(again, [3, 4, 5]),
    ['5/0/prevote', '5/0/precommit'],
    'appends after a compaction go to the new file',
  );
  again.close();
});
