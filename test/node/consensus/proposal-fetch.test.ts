/**
 * Proposals name their transactions by hash (protocol 2), over real libp2p between node processes.
 * An authority whose mempool cannot hold what transaction gossip brings still finalizes the blocks
 * that include those transactions: it fetches the ones it lacks. And a proposal naming
 * transactions nobody has — from an authority whose key an attacker holds — is given up, the
 * honest authorities prevote nil, and the network moves on to the next proposer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { compactProposal } from '../../../node/consensus/compact-proposal.ts';
import { signProposal } from '../../../node/consensus/tendermint/messages.ts';
import { proposer } from '../../../node/consensus/tendermint/schedule.ts';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { createLogger } from '../../../node/log.ts';
import { Gossip, TOPICS, topicName } from '../../../node/p2p/gossip.ts';
import { createHost } from '../../../node/p2p/host.ts';
import { merkleRoot } from '../../../node/protocol/merkle.ts';
import { Signer } from '../../../node/protocol/signature.ts';
import { anchorTx, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  editConfigs,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcesses,
} from '../../fixtures/processes.ts';

const metric = async (node: NodeProcess, name: string, outcome: string): Promise<number> => {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};
const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;

test('an authority that missed transactions in gossip fetches them and finalizes the blocks holding them', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-fetch', 11);
  // The fourth authority's mempool holds one transaction: gossip brings it almost none of them.
  editConfigs([configs[3] as string], (config) => {
    config.mempool = { maxTransactions: 1, maxBytes: 1024 * 1024 };
  });
  // Three of four running: every block needs the fourth's precommit, so none finalizes unless it
  // has made the whole block from the hashes.
  const nodes = await startNodeProcesses(t, [configs[0], configs[1], configs[3]] as string[]);
  const [first, , small] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  await waitFor(async () => ((await height(small)) >= 2 ? true : undefined), 30_000);

  const key = readNodeConfigKey(configs[0] as string);
  const hashes: string[] = [];
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`${first.url}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(anchorTx(key, 'tillid-fetch')),
    });
    assert.equal(response.status, 202);
    hashes.push(((await response.json()) as { hash: string }).hash);
  }
  for (const hash of hashes)
    await waitFor(async () => {
      const view = await getJson(`${small.url}/v1/transactions/${hash}`);
      return view.status === 'finalized' ? true : undefined;
    }, 30_000);
  assert.ok((await metric(small, 'tillid_proposals_assembled_total', 'fetched')) >= 1);
  assert.ok((await metric(small, 'tillid_fetched_transactions_total', 'valid')) >= 1);
  assert.equal(await metric(small, 'tillid_fetched_transactions_total', 'unasked'), 0);
});

test('a proposal naming transactions nobody has gets nil prevotes; the next proposer finalizes', async (t) => {
  const chainId = 'tillid-fetch-nil';
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, chainId, 13);
  const honest = await startNodeProcesses(t, configs.slice(0, 3));
  // The fourth authority's key, in an attacker's hands: it proposes, at its turns, blocks naming a
  // transaction that exists nowhere, and serves no transactions.
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
  const outcomes = new Counter({
    name: 'x',
    help: 'x',
    labelNames: ['topic', 'outcome'] as const,
    registers: [new Registry()],
  });
  const gossip = new Gossip(attacker, chainId, outcomes, createLogger('silent'));
  gossip.on('proposal', { validate: (m) => ({ verdict: 'accept', value: m }), deliver: () => {} });
  const signer = new Signer(key);
  const node = honest[0] as NodeProcess;
  const authorities = configs.map((c) => readNodeConfigKey(c).publicKey);
  await waitFor(async () => ((await height(node)) >= 2 ? true : undefined), 30_000);

  let relay = 0;
  const sent = new Set<string>();
  const start = await height(node);
  await waitFor(async () => {
    const head = await getJson(`${node.url}/v1/blocks/${await height(node)}`);
    const h = head.header.height + 1;
    for (let round = 0; round < 3; round++) {
      if (proposer(h, round, authorities) !== key.publicKey || sent.has(`${h}/${round}`)) continue;
      sent.add(`${h}/${round}`);
      const header = {
        chainId,
        height: h,
        parentHash: head.hash,
        txRoot: merkleRoot(['ee'.repeat(32)]),
        stateRoot: 'ff'.repeat(32),
        proposer: key.publicKey,
        timestamp: Date.now(),
      };
      const full = signProposal(
        { chainId, height: h, round, block: { header, transactions: [], certificate: null }, validRound: -1 },
        signer,
      );
      const proposal = { ...compactProposal(full), txHashes: ['ee'.repeat(32)] };
      await gossip.publish('proposal', { proposal, relay: relay++ });
    }
    const failed = await metric(node, 'tillid_proposals_assembled_total', 'failed');
    return failed >= 1 && (await height(node)) >= start + 3 ? true : undefined;
  }, 60_000);
  // The heights the attacker was to propose were finalized by the next proposer, without its block.
  const after = await height(node);
  await waitFor(async () => ((await height(node)) >= after + 2 ? true : undefined), 30_000);
});
