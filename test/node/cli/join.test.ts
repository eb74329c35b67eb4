/**
 * `tillid network join` without a running network: refusals (an unreachable member, a directory
 * that already holds a node, pacing no node could start with) and the member's block pacing copied. Each exits non-zero, says why, and writes nothing. (A
 * member of another genesis is refused in test/node/consensus/joining.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readGenesis } from '../../../node/genesis-file.ts';
import { genesisHash } from '../../../node/protocol/genesis.ts';
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

/**
 * A member emulated by a plain HTTP server answering the two reads join makes, so the member's
 * pacing can be anything: what a member of this release shows, an older release's status without
 * it, and a value no node could start with.
 */
async function fakeMember(t: TestContext, genesisFile: string, pacing: unknown): Promise<string> {
  const genesis = readGenesis(genesisFile);
  const server = createHttpServer((req, res) => {
    const body =
      req.url === '/v1/status'
        ? { chainId: genesis.chainId, genesisHash: genesisHash(genesis), ...(pacing ? { pacing } : {}) }
        : req.url === '/v1/authorities'
          ? { schedule: [] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

test("join gives the newcomer the member's block pacing, or says it cannot", async (t) => {
  const dir = tempDir(t);
  await initNetworkDir(join(dir, 'net'), 2, 'tillid-join-pacing', 31_100);
  const genesis = join(dir, 'net', 'genesis.json');
  const passphrase = join(dir, 'passphrase');
  writeFileSync(passphrase, 'a throwaway test passphrase\n', { mode: 0o600 });
  const joinWith = async (out: string, pacing: unknown, flags: string[] = []) =>
    tillid([
      ...args(genesis, await fakeMember(t, genesis, pacing), out),
      '--passphrase-file',
      passphrase,
      ...flags,
    ]);
  const configOf = (out: string) => JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));

  const copied = await joinWith(join(dir, 'a'), { blockIntervalMs: 250, emptyBlockIntervalMs: 1000 });
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal(configOf(join(dir, 'a')).blockIntervalMs, 250);
  assert.equal(configOf(join(dir, 'a')).emptyBlockIntervalMs, 1000);

  const overridden = await joinWith(join(dir, 'b'), { blockIntervalMs: 250, emptyBlockIntervalMs: 1000 }, [
    '--empty-block-interval-ms',
    '5000',
  ]);
  assert.equal(overridden.code, 0, overridden.stderr);
  assert.equal(configOf(join(dir, 'b')).blockIntervalMs, 250);
  assert.equal(configOf(join(dir, 'b')).emptyBlockIntervalMs, 5000);

  const older = await joinWith(join(dir, 'c'), undefined);
  assert.equal(older.code, 0, older.stderr);
  assert.match(older.stderr, /does not show its block pacing \(an older release\)/);
  assert.equal(configOf(join(dir, 'c')).emptyBlockIntervalMs, undefined, 'the defaults, as before');

  const hostile = await joinWith(join(dir, 'd'), { blockIntervalMs: 5, emptyBlockIntervalMs: 1 });
  assert.equal(hostile.code, 1);
  assert.match(hostile.stderr, /give block pacing .*blockIntervalMs must be 10-60000/);
  assert.ok(!existsSync(join(dir, 'd')), 'nothing written');

  const badFlag = await joinWith(join(dir, 'e'), { blockIntervalMs: 250, emptyBlockIntervalMs: 1000 }, [
    '--empty-block-interval-ms',
    '100',
  ]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /the flags give block pacing/);
  assert.ok(!existsSync(join(dir, 'e')));
});
