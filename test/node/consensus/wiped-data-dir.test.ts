/**
 * An authority restarted with an empty data directory, over real processes and libp2p: its key has
 * signed before, so it takes its missing signed-vote log as lost (not as a new key's), learns the
 * other authorities' own heads from their statuses, catches up by sync and signs again only past
 * them (node/consensus/rejoin.ts). Nobody sees it sign twice, and it votes in certificates again.
 * The simulator covers the interleavings (test/node/consensus/faults.test.ts); this covers the
 * production path: the log file as marker, `network init` provisioning it, statuses with authors.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
} from '../../fixtures/processes.ts';

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;
const signers = async (node: NodeProcess, h: number): Promise<string[]> =>
  (await getJson(`${node.url}/v1/blocks/${h}`)).certificate.signatures.map(
    (s: { authority: string }) => s.authority,
  );
const equivocations = async (node: NodeProcess): Promise<number> => {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^tillid_equivocations_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
  return sum;
};

test('an authority restarted with an empty data directory rejoins without signing twice', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-wiped');
  const dataOf = (i: number) => join(dirname(configs[i] as string), 'data');
  // network init gave every new key its empty log: they start as nodes whose record is complete.
  for (let i = 0; i < 4; i++) assert.ok(existsSync(join(dataOf(i), 'signed-votes.jsonl')));
  const nodes = await startNodeProcesses(t, configs);
  const wiped = readNodeConfigKey(configs[3] as string).publicKey;
  await waitFor(
    async () => ((await Promise.all(nodes.map(height))).every((h) => h >= 3) ? true : undefined),
    90_000,
  );

  await stopNodeProcess(nodes[3] as NodeProcess, 'SIGKILL');
  rmSync(dataOf(3), { recursive: true, force: true });
  const atRestart = await height(nodes[0] as NodeProcess);
  nodes[3] = await startNodeProcess(configs[3] as string);

  // It catches up, then its precommit is in a certificate of a height decided after the restart.
  const first = await waitFor(async () => {
    const head = await height(nodes[0] as NodeProcess);
    for (let h = atRestart + 1; h <= head; h++)
      if ((await signers(nodes[0] as NodeProcess, h)).includes(wiped)) return h;
    return undefined;
  }, 180_000);
  // Before the wipe it could have signed up to the head it had + 1 ≤ atRestart + 1; every head it
  // was told since is ≥ atRestart, and it signs from the highest + 3.
  assert.ok(first >= atRestart + 3, `signed at ${first}, restarted when the network was at ${atRestart}`);
  assert.ok(existsSync(join(dataOf(3), 'signed-votes.jsonl')), 'its log is kept again from this start on');
  for (const node of nodes) assert.equal(await equivocations(node), 0, 'nobody saw an authority sign twice');
});
