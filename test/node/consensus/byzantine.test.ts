/**
 * A Byzantine authority against three honest node processes, over real libp2p. It equivocates —
 * two conflicting prevotes for one height and round — and the honest nodes put the evidence on
 * chain; then it floods junk (not JSON, forged signatures, heights far ahead), which is rejected,
 * counted, and gets it disconnected. The honest three keep finalizing throughout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { createLogger } from '../../../node/log.ts';
import { Gossip, TOPICS, topicName } from '../../../node/p2p/gossip.ts';
import { createHost } from '../../../node/p2p/host.ts';
import { serveBlocks } from '../../../node/p2p/sync.ts';
import { blockHash, commitDigest } from '../../../node/protocol/block.ts';
import { merkleRoot } from '../../../node/protocol/merkle.ts';
import { Signer, signingMessage } from '../../../node/protocol/signature.ts';
import { signVote } from '../../../node/protocol/votes.ts';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
} from '../../fixtures/processes.ts';

/**
 * A four-authority network of which three run honest node processes; the fourth authority's key
 * is in the hands of an attacker that speaks the protocol directly from this process.
 */
async function honestThreeAndAnAttacker(
  t: { after(fn: () => unknown): void },
  chainId: string,
  portOffset: number,
) {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, chainId, portOffset);
  const honest = await startNodeProcesses(t, configs.slice(0, 3));
  const config = JSON.parse(readFileSync(configs[3] as string, 'utf8'));
  const key = readNodeConfigKey(configs[3] as string);
  const attacker = await createHost({
    identity: key,
    listen: config.p2p.listen,
    peers: config.p2p.peers,
    topics: TOPICS.map((n) => topicName(chainId, n)),
    allowed: () => true,
    log: createLogger('silent'),
  });
  t.after(() => attacker.stop());
  return { dir, honest, attacker, key };
}

test('equivocation is recorded on chain; junk is rejected and its sender cut off', async (t) => {
  const { honest, attacker, key } = await honestThreeAndAnAttacker(t, 'tillid-byzantine', 5);
  const outcomes = new Counter({
    name: 'x',
    help: 'x',
    labelNames: ['topic', 'outcome'] as const,
    registers: [new Registry()],
  });
  const gossip = new Gossip(attacker, 'tillid-byzantine', outcomes, createLogger('silent'));
  gossip.on('vote', { validate: (m) => ({ verdict: 'accept', value: m }), deliver: () => {} });
  const signer = new Signer(key);
  const node = honest[0] as NodeProcess;
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= 3 ? true : undefined),
    30_000,
  );

  let relay = 0;
  const evidence = await waitFor(async () => {
    const height = (await getJson(`${node.url}/v1/status`)).height + 1;
    for (const blockHash of ['aa'.repeat(32), 'bb'.repeat(32)]) {
      const vote = signVote(
        { chainId: 'tillid-byzantine', type: 'prevote', height, round: 0, blockHash },
        signer,
      );
      await gossip.publish('vote', { message: { kind: 'vote', vote }, relay: relay++ });
    }
    await new Promise((r) => setTimeout(r, 300));
    const { equivocations } = await getJson(`${node.url}/v1/evidence`);
    return equivocations.length > 0 ? equivocations : undefined;
  }, 30_000);
  assert.equal(evidence[0].authority, key.publicKey);
  assert.equal(evidence[0].step, 'prevote');
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  assert.match(metrics, /tillid_equivocations_total\{kind="vote"\} [1-9]/);

  // Junk: every message is rejected by every honest validator, never forwarded, and counted.
  const before = (await getJson(`${node.url}/v1/status`)).height;
  const forged = signVote(
    {
      chainId: 'tillid-byzantine',
      type: 'prevote',
      height: before + 1,
      round: 0,
      blockHash: 'cc'.repeat(32),
    },
    signer,
  );
  for (let i = 0; i < 40 && attacker.host.getConnections().length > 0; i++) {
    const junk = [
      { not: 'an envelope', i },
      { message: { kind: 'vote', vote: { ...forged, blockHash: 'dd'.repeat(32) } }, relay: relay++ },
      { message: { kind: 'vote', vote: { ...forged, round: -1 } }, relay: relay++ },
    ][i % 3];
    await gossip.publish('vote', junk);
    await new Promise((r) => setTimeout(r, 20));
  }
  await waitFor(async () => (attacker.host.getConnections().length === 0 ? true : undefined), 10_000);
  const after = await (await fetch(`${node.url}/metrics`)).text();
  assert.match(after, /tillid_gossip_messages_total\{topic="vote",outcome="reject"\} [1-9]/);
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= before + 5 ? true : undefined),
    20_000,
  );
});

test('a peer that serves invalid blocks in block sync is refused and cut off; nothing is stored', async (t) => {
  const { honest, attacker, key, dir } = await honestThreeAndAnAttacker(t, 'tillid-badsync', 15);
  const node = honest[0] as NodeProcess;
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= 2 ? true : undefined),
    30_000,
  );

  // Whatever height is asked for, serve a block that links correctly but lies about its state root
  // and carries a certificate signed only by the attacker.
  const signer = new Signer(key);
  await serveBlocks(
    attacker.host,
    'tillid-badsync',
    {
      height: () => 1_000_000,
      block: async (height) => {
        const parent = await getJson(`${node.url}/v1/blocks/${height - 1}`);
        if (!parent.header) return undefined;
        const header = {
          ...parent.header,
          height,
          parentHash: parent.hash,
          stateRoot: 'ee'.repeat(32),
          txRoot: merkleRoot([]),
          proposer: key.publicKey,
          timestamp: parent.header.timestamp + 1,
        };
        const hash = blockHash(header);
        const signature = signer.sign(
          signingMessage('commit', commitDigest('tillid-badsync', height, 0, hash)),
        );
        return {
          header,
          transactions: [],
          certificate: {
            height,
            round: 0,
            blockHash: hash,
            signatures: [{ authority: key.publicKey, signature }],
          },
        };
      },
    },
    createLogger('silent'),
  );
  const outcomes = new Counter({
    name: 'y',
    help: 'y',
    labelNames: ['topic', 'outcome'] as const,
    registers: [new Registry()],
  });
  const gossip = new Gossip(attacker, 'tillid-badsync', outcomes, createLogger('silent'));
  gossip.on('status', { validate: (m) => ({ verdict: 'accept', value: m }), deliver: () => {} });
  const refuser = await waitFor(async () => {
    await gossip.publish('status', { height: 1_000_000, at: Date.now() });
    const metrics = await Promise.all(honest.map(async (n) => (await fetch(`${n.url}/metrics`)).text()));
    const i = metrics.findIndex((m) => /tillid_sync_blocks_rejected_total [1-9]/.test(m));
    return i >= 0 ? (honest[i] as NodeProcess) : undefined;
  }, 20_000);
  const attackerId = attacker.host.peerId.toString();
  await waitFor(
    async () => (!(await getJson(`${refuser.url}/v1/status`)).peers.includes(attackerId) ? true : undefined),
    10_000,
  );
  const before = (await getJson(`${node.url}/v1/status`)).height;
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= before + 3 ? true : undefined),
    20_000,
  );
  await assertChainVerifies(dir, { api: node.url });
});
