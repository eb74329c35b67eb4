/** The durable signed-vote log knows when it was lost: its file is made on first open. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSignedVoteLog } from '../../../node/consensus/tendermint/file-signed-log.ts';

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
