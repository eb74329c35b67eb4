/**
 * Four authority processes on 127.0.0.1 over real libp2p (TCP, noise, yamux, gossipsub): they
 * finalize, carry a transaction to every node, survive kill -9 of one, and catch it up by block
 * sync when it restarts. The restarted node's chain then verifies offline, certificates included,
 * and an observer node follows the chain without voting.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNodeConfigKey, writePlaintextKeyFile } from '../../../node/custody/key-file.ts';
import { anchorTx, generateKeyPair, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import {
  assertChainVerifies,
  initLocalNetwork,
  type NodeProcess,
  startNodeProcess,
  startNodeProcesses,
  stopNodeProcess,
} from '../../fixtures/processes.ts';

const height = async (node: NodeProcess): Promise<number> => (await getJson(`${node.url}/v1/status`)).height;
const hashAt = async (node: NodeProcess, h: number): Promise<string> =>
  (await getJson(`${node.url}/v1/blocks/${h}`)).hash;

test('four authority processes finalize, survive kill -9 of one, and catch it up', async (t) => {
  const dir = tempDir(t);
  const configs = await initLocalNetwork(dir, 4, 'tillid-four');
  // An observer: a municipality without an authority role that keeps a full, verified copy.
  const observerKey = generateKeyPair();
  const observerDir = join(dir, 'observer');
  mkdirSync(observerDir);
  writePlaintextKeyFile(join(observerDir, 'key.json'), observerKey);
  for (const file of configs) {
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.p2p.observers = [observerKey.publicKey];
    writeFileSync(file, JSON.stringify(config));
  }
  const template = JSON.parse(readFileSync(configs[0] as string, 'utf8'));
  const firstAddress = JSON.parse(readFileSync(configs[1] as string, 'utf8')).p2p.peers[0] as string;
  writeFileSync(
    join(observerDir, 'config.json'),
    JSON.stringify({
      ...template,
      name: 'Observer Kommune',
      api: { host: '127.0.0.1', port: 0 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], peers: [firstAddress, ...template.p2p.peers], observers: [] },
    }),
  );
  const nodes = await startNodeProcesses(t, configs);

  // They finalize, and agree.
  await waitFor(
    async () => ((await Promise.all(nodes.map(height))).every((h) => h >= 3) ? true : undefined),
    30_000,
  );
  const agreed = new Set(await Promise.all(nodes.map((n) => hashAt(n, 3))));
  assert.equal(agreed.size, 1, 'all four hold the same block 3');

  // A transaction sent to one node is finalized on all.
  const key = readNodeConfigKey(configs[0] as string);
  const tx = anchorTx(key, 'tillid-four');
  const submitted = await fetch(`${nodes[0]?.url}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tx),
  });
  assert.equal(submitted.status, 202);
  const { hash } = (await submitted.json()) as { hash: string };
  const finalizedOnLast = await waitFor(async () => {
    const view = await getJson(`${nodes[3]?.url}/v1/transactions/${hash}`);
    return view.status === 'finalized' ? view : undefined;
  }, 20_000);

  // kill -9 one authority: the other three (a quorum of 4) keep finalizing.
  await stopNodeProcess(nodes[3] as NodeProcess, 'SIGKILL');
  const atKill = await height(nodes[0] as NodeProcess);
  await waitFor(
    async () => ((await height(nodes[0] as NodeProcess)) >= atKill + 5 ? true : undefined),
    30_000,
  );

  // Restarted, it catches up from its peers and follows the head again.
  nodes[3] = await startNodeProcess(configs[3] as string);
  const target = (await height(nodes[0] as NodeProcess)) + 2;
  await waitFor(async () => ((await height(nodes[3] as NodeProcess)) >= target ? true : undefined), 30_000);
  assert.equal(await hashAt(nodes[3] as NodeProcess, target), await hashAt(nodes[0] as NodeProcess, target));
  assert.deepEqual(await getJson(`${nodes[3]?.url}/v1/transactions/${hash}`), finalizedOnLast);

  await assertChainVerifies(dir, { api: nodes[3]?.url as string });
});

const _dirOf = (file: string) => file.slice(0, file.lastIndexOf('/'));
