/**
 * Key rotation over real processes and libp2p over TCP, as an operator does it: generate a new key
 * beside the node, `tillid authority rotate` (signed by the current key, proven by the new one),
 * restart the node with the new key file in the old one's place — no config edited. The network
 * keeps finalizing; from the effective height every certificate carries the new key and never the
 * old; the old key is refused as an authority and no member keeps a connection to it; the chain,
 * with the rotation in it, verifies offline from the genesis.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { THROWAWAY_PASSPHRASE_FILE } from '../../../node/custody/passphrase.ts';
import { peerIdForPublicKey } from '../../../node/p2p/identity.ts';
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

const status = (node: NodeProcess) => getJson(`${node.url}/v1/status`);

test('an authority rotates its key; the network keeps finalizing; the old key is refused', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-rotate', 20);
  const nodes = await startNodeProcesses(t, configs);
  const first = nodes[0] as NodeProcess;
  await waitFor(async () => ((await status(first)).height >= 2 ? true : undefined), 30_000);

  const home = join(configs[1] as string, '..');
  const oldKey = JSON.parse(readFileSync(join(home, 'key.json'), 'utf8')).publicKey as string;
  // The new key under the node's (throwaway) passphrase file, so the config opens it after the swap.
  const passphrase = join(home, THROWAWAY_PASSPHRASE_FILE);
  const generated = await tillid([
    'keys',
    'generate',
    '--out',
    join(home, 'key-next.json'),
    '--passphrase-file',
    passphrase,
  ]);
  assert.equal(generated.code, 0, generated.stderr);
  const newKey = JSON.parse(generated.stdout).publicKey as string;

  const rotate = await tillid([
    'authority',
    'rotate',
    '--key',
    join(home, 'key.json'),
    '--new-key',
    join(home, 'key-next.json'),
    '--passphrase-file',
    passphrase,
    '--api',
    (nodes[1] as NodeProcess).url,
    '--wait',
  ]);
  assert.equal(rotate.code, 0, rotate.stdout + rotate.stderr);
  const lines = rotate.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual([lines[0].from, lines[0].to], [oldKey, newKey]);
  assert.equal(lines[1].status, 'finalized');
  const { effectiveFrom } = lines[2] as { effectiveFrom: number };
  assert.equal(effectiveFrom, lines[1].height + 2);

  // The operator swaps the key file and restarts the node: nothing else changes.
  await stopNodeProcess(nodes[1] as NodeProcess);
  renameSync(join(home, 'key.json'), join(home, 'key-retired.json'));
  renameSync(join(home, 'key-next.json'), join(home, 'key.json'));
  const restarted = await startNodeProcess(configs[1] as string);
  nodes[1] = restarted;
  t.after(() => stopNodeProcess(restarted, 'SIGKILL'));

  // The network finalizes on, and the rotated seat signs again, with its new key.
  let signedByNew = 0;
  await waitFor(async () => {
    const head = (await status(first)).height;
    if (head < effectiveFrom + 5) return undefined;
    const block = await getJson(`${first.url}/v1/blocks/${head}`);
    if (block.certificate.signatures.some((s: { authority: string }) => s.authority === newKey))
      signedByNew++;
    return signedByNew >= 1 ? true : undefined;
  }, 120_000);
  const head = (await status(first)).height;
  for (let h = Math.max(1, effectiveFrom - 3); h <= head; h++) {
    const block = await getJson(`${first.url}/v1/blocks/${h}`);
    const signers = block.certificate.signatures.map((s: { authority: string }) => s.authority);
    if (h >= effectiveFrom) assert.ok(!signers.includes(oldKey), `the old key in the certificate at ${h}`);
    else assert.ok(!signers.includes(newKey), `the new key in the certificate at ${h}`);
  }
  const authorities = (await status(first)).authorities.map((a: { publicKey: string }) => a.publicKey);
  assert.ok(authorities.includes(newKey) && !authorities.includes(oldKey));

  // The old key is no authority any more: its governance transaction is refused, and no member
  // is connected to its peer id.
  const refused = await tillid([
    'authority',
    'propose',
    '--key',
    join(home, 'key-retired.json'),
    '--passphrase-file',
    passphrase,
    '--action',
    'remove',
    '--name',
    'Kommune 01',
    '--cvr',
    '29189846',
    '--public-key',
    authorities[0],
    '--api',
    first.url,
    '--wait',
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /GOVERNANCE_REFUSED/);
  const oldPeer = await peerIdForPublicKey(oldKey);
  for (const node of nodes) assert.ok(!(await status(node)).peers.includes(oldPeer));

  await assertChainVerifies(dir, { api: first.url });
});
