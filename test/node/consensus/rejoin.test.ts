/**
 * The bound a node that lost its signed-vote log waits for (node/consensus/rejoin.ts): how many
 * other authorities' own heads, and the first height it may sign at.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { headsNeeded, LostLogRejoin } from '../../../node/consensus/rejoin.ts';
import {
  FileSignedVoteLog,
  provisionSignedVoteLog,
  SIGNED_VOTE_LOG,
} from '../../../node/consensus/tendermint/file-signed-log.ts';

test('heads needed: enough others that one honest signer of any decided height is among them', () => {
  // n, f = ⌊(n−1)/3⌋, q = ⌊2n/3⌋+1: at least q − f − 1 other honest signers; hear n − q + f + 1.
  assert.deepEqual(
    [2, 3, 4, 5, 7, 10, 16].map((n) => headsNeeded(n)),
    [1, 1, 3, 3, 5, 7, 11],
  );
  for (let n = 2; n <= 100; n++) {
    const q = Math.floor((2 * n) / 3) + 1;
    const f = Math.floor((n - 1) / 3);
    // Any headsNeeded(n) of the n − 1 others leave out at most (n − 1) − headsNeeded(n) of them,
    // fewer than the q − f − 1 honest other signers.
    assert.ok(n - 1 - headsNeeded(n) < q - f - 1, `n=${n}`);
    assert.ok(headsNeeded(n) <= n - 1);
  }
});

test('the lost-log node signs only from the highest head it was told + 3, once enough authorities told', () => {
  const authorities = ['a', 'b', 'c', 'me'];
  const rejoin = new LostLogRejoin();
  rejoin.note('b', 7);
  rejoin.note('c', 6);
  assert.equal(rejoin.voteFrom(authorities, 'me'), undefined, 'two of three others: not yet');
  rejoin.note('outsider', 50);
  assert.equal(rejoin.voteFrom(authorities, 'me'), undefined, 'a non-authority does not count');
  rejoin.note('a', 2);
  rejoin.note('a', 1);
  assert.equal(rejoin.voteFrom(authorities, 'me'), 10);
});

test('a missing log is lost; a provisioned one is complete and is never overwritten', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-rejoin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const fresh = new FileSignedVoteLog(join(dir, SIGNED_VOTE_LOG));
  assert.equal(fresh.lost, true, 'no file: a wiped data directory looks like this, so it is lost');
  fresh.close();
  assert.equal(provisionSignedVoteLog(data), true);
  const provisioned = new FileSignedVoteLog(join(data, SIGNED_VOTE_LOG));
  assert.equal(provisioned.lost, false);
  provisioned.close();
  writeFileSync(join(data, SIGNED_VOTE_LOG), '{"kept":true}\n');
  assert.equal(provisionSignedVoteLog(data), false);
  assert.equal(readFileSync(join(data, SIGNED_VOTE_LOG), 'utf8'), '{"kept":true}\n');
});
