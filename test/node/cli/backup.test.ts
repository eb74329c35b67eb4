/**
 * `tillid node backup` of a running node and `tillid node restore` into an empty store: the
 * restored store passes `chain verify`; a backup with one changed byte, or of another genesis, is
 * refused at restore naming the problem; restore never writes into a store that exists. Also
 * `tillid genesis hash`, the ceremony's check.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { genesisHash } from '../../../node/protocol/genesis.ts';
import {
  anchorTx,
  devGenesis,
  generateKeyPair,
  postJson,
  startTestNode,
  tempDir,
  waitFor,
} from '../../helpers.ts';
import { tillid } from '../../process.ts';

test('back up a running node, restore into an empty store, verify; damaged backups are refused', async (t) => {
  const { node, url, key, dir } = await startTestNode(t, { blockIntervalMs: 50 });
  const sent: ReturnType<typeof anchorTx>[] = [];
  for (let i = 0; i < 5; i++) {
    const tx = anchorTx(key);
    const r = await postJson(`${url}/v1/transactions`, tx);
    assert.equal(r.status, 202);
    sent.push(tx);
  }
  await waitFor(async () => (node.mempool.size === 0 && node.chain.head.height > 5 ? true : undefined));
  const genesis = join(dir, 'genesis.json');
  const out = tempDir(t);
  const backup = join(out, 'node.backup');
  const restore = (dataDir: string, from = backup, genesisFile = genesis) =>
    tillid(['node', 'restore', '--genesis', genesisFile, '--from', from, '--data-dir', dataDir]);

  const b = await tillid(['node', 'backup', '--genesis', genesis, '--api', url, '--out', backup]);
  assert.equal(b.code, 0, b.stderr);
  const height = Number(/OK: (\d+) blocks/.exec(b.stdout)?.[1]);
  assert.ok(height > 5, b.stdout);
  assert.match(b.stderr, new RegExp(`backed up ${height}/${height} blocks \\(100%\\)`));
  const again = await tillid(['node', 'backup', '--genesis', genesis, '--api', url, '--out', backup]);
  assert.equal(again.code, 2, 'an existing backup is never overwritten');

  const restored = join(out, 'restored');
  const r = await restore(restored);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`restored and verified ${height} blocks`));
  const verify = await tillid(['chain', 'verify', '--genesis', genesis, '--data-dir', restored]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`OK: ${height} blocks verified`));
  assert.match(verify.stderr, /verified \d+\/\d+ blocks/, 'chain verify reports progress');

  const into = await restore(restored);
  assert.equal(into.code, 2);
  assert.match(into.stderr, /holds a store/);

  // A data directory that kept only the node's signed-vote log is restored into, the log untouched.
  const kept = join(out, 'kept');
  mkdirSync(kept);
  writeFileSync(join(kept, 'signed-votes.jsonl'), '{"kept":true}\n');
  const intoKept = await restore(kept);
  assert.equal(intoKept.code, 0, intoKept.stderr);
  assert.equal(readFileSync(join(kept, 'signed-votes.jsonl'), 'utf8'), '{"kept":true}\n');

  // One byte of one transaction's payload changed: its signature no longer holds.
  const lines = readFileSync(backup, 'utf8').split('\n');
  const at = lines.findIndex((l, i) => i > 0 && l.includes(sent[2]?.payload.hash as string));
  assert.ok(at > 0);
  const tampered = join(out, 'tampered.backup');
  const hash = sent[2]?.payload.hash as string;
  const changed = `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`;
  writeFileSync(tampered, lines.map((l, i) => (i === at ? l.replace(hash, changed) : l)).join('\n'));
  const bad = await restore(join(out, 'x'), tampered);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`block ${at} of the backup is invalid`));

  const other = join(out, 'other-genesis.json');
  writeFileSync(other, JSON.stringify(devGenesis([generateKeyPair()])));
  const wrong = await restore(join(out, 'y'), backup, other);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /the backup is of genesis/);
});

test('tillid genesis hash prints the hash and, for the eye, the authorities', async (t) => {
  const dir = tempDir(t);
  const genesis = devGenesis([generateKeyPair(), generateKeyPair()]);
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(genesis));
  const r = await tillid(['genesis', 'hash', '--genesis', join(dir, 'genesis.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), genesisHash(genesis));
  assert.match(r.stderr, /2 authorities/);
  assert.ok(genesis.authorities.every((a) => r.stderr.includes(a.publicKey)));
});
