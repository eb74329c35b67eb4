/**
 * Membership by vote, end to end over real processes: four authorities vote a fifth municipality
 * in; its node — refused by the allow-list until then — connects, catches up, and proposes blocks.
 * Then they vote one of the original four out, kill it, and the remaining four keep finalizing. The
 * chain, with its changing authority sets, verifies offline from the genesis.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { writePlaintextKeyFile } from '../../../node/custody/key-file.ts';
import { THROWAWAY_PASSPHRASE_FILE } from '../../../node/custody/passphrase.ts';
import { generateKeyPair, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
  tillid,
} from '../../fixtures/processes.ts';

const status = (node: NodeProcess) => getJson(`${node.url}/v1/status`);

async function governance(node: NodeProcess, keyFile: string, args: string[]): Promise<{ hash: string }> {
  // The network's own keys are encrypted, each with its throwaway passphrase beside it.
  const passphrase = join(dirname(keyFile), THROWAWAY_PASSPHRASE_FILE);
  const unlock = existsSync(passphrase) ? ['--passphrase-file', passphrase] : [];
  const result = await tillid([
    'authority',
    ...args,
    '--key',
    keyFile,
    ...unlock,
    '--api',
    node.url,
    '--wait',
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return JSON.parse(result.stdout.split('\n')[0] as string);
}

test('a municipality is voted in, joins and proposes; another is voted out; the chain verifies', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-members', 10);
  const nodes = await startNodeProcesses(t, configs);
  const keyOf = (i: number) => join(configs[i] as string, '..', 'key.json');

  // The newcomer's node: its own key and config, peers = the four.
  const newcomer = generateKeyPair();
  const newDir = join(dir, 'kommune-e');
  mkdirSync(newDir);
  writePlaintextKeyFile(join(newDir, 'key.json'), newcomer);
  const template = JSON.parse(readFileSync(configs[3] as string, 'utf8'));
  const p2pPort = Number(template.p2p.listen[0].split('/').pop()) + 1;
  // The fourth node lists the other three; the first node's list ends with the fourth.
  const fourth = JSON.parse(readFileSync(configs[0] as string, 'utf8')).p2p.peers.at(-1) as string;
  writeFileSync(
    join(newDir, 'config.json'),
    JSON.stringify({
      ...template,
      name: 'Kommune E',
      api: { host: '127.0.0.1', port: 0 },
      p2p: {
        listen: [`/ip4/127.0.0.1/tcp/${p2pPort}`],
        peers: [...template.p2p.peers, fourth],
        observers: [],
      },
    }),
  );

  await waitFor(async () => ((await status(nodes[0] as NodeProcess)).height >= 2 ? true : undefined), 30_000);
  const proposal = await governance(nodes[0] as NodeProcess, keyOf(0), [
    'propose',
    '--action',
    'add',
    '--name',
    'Kommune E',
    '--cvr',
    '44444444',
    '--public-key',
    newcomer.publicKey,
  ]);
  await governance(nodes[1] as NodeProcess, keyOf(1), ['vote', '--proposal', proposal.hash]);
  await governance(nodes[2] as NodeProcess, keyOf(2), ['vote', '--proposal', proposal.hash]);
  const approved = await getJson(`${nodes[0]?.url}/v1/governance/proposals/${proposal.hash}`);
  assert.equal(approved.status, 'approved');
  await waitFor(
    async () => ((await status(nodes[0] as NodeProcess)).authorities.length === 5 ? true : undefined),
    10_000,
  );

  const joined = await startNodeProcess(join(newDir, 'config.json'));
  nodes.push(joined);
  // It catches up and takes its turn as proposer (round-robin over five).
  // Every block from the one it became an authority in is read once, in order: a window of the
  // last few blocks could slide past its turn on a loaded machine, where a poll is slower than
  // the 100 ms block pace.
  let next = approved.effectiveFrom as number;
  await waitFor(async () => {
    const head = (await status(joined)).height;
    for (; next <= head; next++) {
      const block = await getJson(`${joined.url}/v1/blocks/${next}`);
      if (block.header?.proposer === newcomer.publicKey) return true;
    }
    return undefined;
  }, 40_000).catch(() =>
    assert.fail(`no block proposed by the newcomer in ${approved.effectiveFrom}..${next - 1}`),
  );
  assert.ok((await status(joined)).peers.length >= 4);

  // Vote the fourth authority out (4 of 5 votes needed), then kill it: the rest keep finalizing.
  const { publicKey: fourthKey } = JSON.parse(readFileSync(keyOf(3), 'utf8'));
  const removal = await governance(nodes[0] as NodeProcess, keyOf(0), [
    'propose',
    '--action',
    'remove',
    '--name',
    'Kommune D',
    '--cvr',
    '29189849',
    '--public-key',
    fourthKey,
  ]);
  for (const i of [1, 2])
    await governance(nodes[i] as NodeProcess, keyOf(i), ['vote', '--proposal', removal.hash]);
  await governance(joined, join(newDir, 'key.json'), ['vote', '--proposal', removal.hash]);
  await waitFor(
    async () => ((await status(nodes[0] as NodeProcess)).authorities.length === 4 ? true : undefined),
    10_000,
  );
  await stopNodeProcess(nodes[3] as NodeProcess, 'SIGKILL');
  const before = (await status(nodes[0] as NodeProcess)).height;
  await waitFor(async () => ((await status(joined)).height >= before + 5 ? true : undefined), 30_000);

  await assertChainVerifies(dir, { api: joined.url });
});
