/**
 * `tillid network join` refusals that need no running network: an unreachable member, and a
 * directory that already holds a node. Each exits non-zero, says why, and writes nothing. (A
 * member of another genesis is refused in test/node/consensus/joining.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../fixtures/node.ts';
import { initNetworkDir, tillid } from '../../fixtures/processes.ts';

/** A port nothing listens on: bound, closed, then dialled. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const args = (genesis: string, from: string, out: string) => [
  'network',
  'join',
  '--genesis',
  genesis,
  '--from',
  from,
  '--name',
  'Kommune E',
  '--cvr',
  '44444444',
  '--host',
  'node.kommune-e.dk',
  '--out',
  out,
];

test('join refuses an unreachable member and an occupied directory, writing nothing', async (t) => {
  const dir = tempDir(t);
  await initNetworkDir(join(dir, 'net'), 2, 'tillid-join-cli', 31_000);
  const genesis = join(dir, 'net', 'genesis.json');

  const out = join(dir, 'newcomer');
  const unreachable = await tillid(args(genesis, `http://127.0.0.1:${await closedPort()}`, out));
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /tillid: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/status/);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0);

  const occupied = join(dir, 'occupied');
  mkdirSync(occupied);
  writeFileSync(join(occupied, 'config.json'), '{}');
  const refused = await tillid(args(genesis, 'http://127.0.0.1:1', occupied));
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /config\.json exists: this directory already holds a node/);
  assert.deepEqual(readdirSync(occupied), ['config.json']);
});
