/**
 * Never sign twice, across a real crash: an authority's signed-vote log is written off the main
 * thread (write-behind), so the node must not let a vote out before its line is on disk. Four real
 * node processes over libp2p; one is killed with SIGKILL the moment a peer holds a block whose
 * certificate carries its precommit. From its files alone it must then know that vote: the log
 * still has the precommit, or the block is in its own store (the log is pruned only below a height
 * the node has committed). It restarts from those files, signs again and the chain verifies.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
  tillid,
} from '../../fixtures/processes.ts';

interface LoggedVote {
  kind: string;
  vote?: { type: string; height: number; blockHash: string | null };
}

/** The victim's own view after the crash, from its files only: logged precommits and stored head. */
async function afterCrash(dir: string, dataDir: string) {
  const path = join(dataDir, 'signed-votes.jsonl');
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  /** Height → the block hashes precommitted there, in any round. */
  const precommits = new Map<number, (string | null)[]>();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as LoggedVote;
    if (entry.kind === 'vote' && entry.vote?.type === 'precommit') {
      precommits.set(entry.vote.height, [...(precommits.get(entry.vote.height) ?? []), entry.vote.blockHash]);
    }
  }
  const verified = await tillid([
    'chain',
    'verify',
    '--genesis',
    join(dir, 'genesis.json'),
    '--data-dir',
    dataDir,
  ]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const stored = Number(/OK: (\d+) blocks verified/.exec(verified.stdout)?.[1]);
  return { precommits, stored };
}

test('an authority killed right after a peer holds its precommit has that vote on disk, restarts and signs again', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-crash', 19);
  const nodes = await startNodeProcesses(t, configs);
  const peer = nodes[0] as NodeProcess;
  const victimConfig = configs[3] as string;
  const victimKey = JSON.parse(readFileSync(join(dirname(victimConfig), 'key.json'), 'utf8')).publicKey;
  const victimData = join(dirname(victimConfig), JSON.parse(readFileSync(victimConfig, 'utf8')).dataDir);
  let victim = nodes[3] as NodeProcess;
  t.after(() => stopNodeProcess(victim, 'SIGKILL'));

  // A peer's latest block certified with the victim's precommit (blocks follow every 100 ms).
  const signedByVictim = async (above: number) => {
    const block = await getJson(`${peer.url}/v1/blocks/latest`);
    const height = block.header?.height ?? 0;
    if (height <= above) return undefined;
    const sig = block.certificate?.signatures?.find((s: { authority: string }) => s.authority === victimKey);
    return sig ? { height, hash: block.certificate.blockHash as string } : undefined;
  };

  let after = 0;
  for (let crash = 1; crash <= 2; crash++) {
    const seen = await waitFor(() => signedByVictim(after), 60_000);
    await stopNodeProcess(victim, 'SIGKILL');
    const { precommits, stored } = await afterCrash(dir, victimData);
    const logged = precommits.get(seen.height) ?? [];
    assert.ok(
      logged.includes(seen.hash) || stored >= seen.height,
      `crash ${crash}: a peer held the victim's precommit at height ${seen.height}, but the victim's ` +
        `log has ${JSON.stringify(logged)} there and its store ends at ${stored}`,
    );
    victim = await startNodeProcess(victimConfig);
    // Back from its files: it votes again, in certificates of blocks after the crash.
    after = seen.height;
    await waitFor(() => signedByVictim(Math.max(after, stored)), 60_000);
    after = (await getJson(`${peer.url}/v1/blocks/latest`)).header.height;
  }
  await assertChainVerifies(dir, { api: peer.url });
});
