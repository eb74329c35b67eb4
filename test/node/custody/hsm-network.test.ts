/**
 * Keys in custody on a real network: four authority processes over libp2p, one signing through
 * SoftHSM2 (its key generated in the token, its config written by `network init --hsm` — no hand
 * edit), three from encrypted key files. They finalize together; the HSM node proposes blocks that the others
 * finalize, its libp2p identity (noise handshake) is proven by the token, a transaction signed
 * by the CLI from an encrypted key file is final on all four, and the chain verifies.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { THROWAWAY_PASSPHRASE_FILE } from '../../../node/custody/passphrase.ts';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
  tillid,
} from '../../fixtures/processes.ts';
import { softHsmToken, useSoftHsm } from '../../fixtures/softhsm.ts';

const root = mkdtempSync(join(tmpdir(), 'tillid-softhsm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
useSoftHsm(root);

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;

test('four authorities, one signing through SoftHSM2 and three from encrypted files, finalize together', async (t) => {
  const dir = tempDir(t);
  // Kommune 01's key is made inside the token (it never exists outside it), and `network init
  // --hsm` writes that member's config with the token instead of a key file: no file is edited.
  const hsmHome = tempDir(t, 'tillid-hsm-member-');
  const token = softHsmToken(hsmHome, 'kommune-01');
  const generated = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(generated.code, 0, generated.stderr);
  const hsmKey = JSON.parse(generated.stdout).publicKey as string;
  const configs = await initLocalNetwork(dir, 4, 'tillid-custody', 13, [
    '--hsm',
    `Kommune 01=${token.hsmFile}`,
  ]);
  const hsmDir = join(configs[0] as string, '..');
  const hsmConfig = JSON.parse(readFileSync(configs[0] as string, 'utf8'));
  assert.deepEqual(hsmConfig.hsm, token.config, 'the config names the token (its PIN file by absolute path)');
  assert.equal(hsmConfig.keyFile, undefined);
  assert.equal(existsSync(join(hsmDir, 'key.json')), false, 'no key file for the HSM member');
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
  assert.equal(genesis.authorities[0].publicKey, hsmKey, "the genesis holds the token's public key");
  for (const config of configs.slice(1)) {
    const text = readFileSync(join(config, '..', 'key.json'), 'utf8');
    assert.equal(JSON.parse(text).format, 'tillid-key', 'the others sign from encrypted key files');
  }

  const nodes = await startNodeProcesses(t, configs);
  const hsmNode = nodes[0] as NodeProcess;
  // Enough blocks that each authority could have had its turn to propose (round robin over four).
  // A bound, not a speed target: at load 80 four node processes take about a minute to listen.
  await waitFor(
    async () => ((await Promise.all(nodes.map(height))).every((h) => h >= 8) ? true : undefined),
    180_000,
  );
  // The three file-key nodes can finalize without it (three of four is a quorum), so the first
  // heights may all be theirs while the HSM node is still opening its token and dialling: its
  // turns then time out into round 1. Read finalized blocks until one of its own proposals
  // appears (bounded), rather than assuming it proposed among the first eight.
  let scanned = 0;
  const proposedByHsm = await waitFor(async () => {
    const top = await height(nodes[1] as NodeProcess);
    for (let h = scanned + 1; h <= top; h++) {
      const block = await getJson(`${nodes[1]?.url}/v1/blocks/${h}`);
      scanned = h;
      if (block.header.proposer === hsmKey) return h;
    }
    return undefined;
  }, 120_000).catch(() => undefined);
  // A finalized block proposed by it: the others verified the token's proposal signature.
  assert.ok(
    proposedByHsm !== undefined,
    `the HSM-held authority proposed a finalized block (read 1..${scanned})`,
  );
  for (const h of [4, 8]) {
    const hashes = new Set(
      await Promise.all(nodes.map(async (n) => (await getJson(`${n.url}/v1/blocks/${h}`)).hash)),
    );
    assert.equal(hashes.size, 1, `all four hold the same block ${h}`);
  }
  // Its votes go through the node's signed-vote log as any node's (pruned as heights finalize).
  assert.ok(existsSync(join(hsmDir, 'data', 'signed-votes.jsonl')));

  // A transaction signed by the CLI from an encrypted key file is final on every node.
  const other = join(configs[1] as string, '..');
  const sent = await tillid([
    'tx',
    'send',
    '--key',
    join(other, 'key.json'),
    '--passphrase-file',
    join(other, THROWAWAY_PASSPHRASE_FILE),
    '--hash',
    'c'.repeat(64),
    '--api',
    hsmNode.url,
    '--wait',
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  const { hash } = JSON.parse(sent.stdout.split('\n')[0] as string);
  for (const node of nodes) {
    await waitFor(
      async () =>
        (await getJson(`${node.url}/v1/transactions/${hash}`)).status === 'finalized' ? true : undefined,
      20_000,
    );
  }
  await assertChainVerifies(dir, { api: hsmNode.url });
});
