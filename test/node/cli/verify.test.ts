/**
 * `tillid chain verify` as an auditor uses it on a copied data directory: it changes nothing it
 * verifies, fails when the storage engine had to drop damaged records, fails when the store ends
 * short of a head the auditor trusts, and fails on fields no signature covers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import { initSingleNode, startNodeProcess, stopNodeProcess, tillid } from '../../fixtures/processes.ts';

/** Every file's name, size, mtime and content hash: what "unchanged" means for a directory. */
const fingerprint = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f));
      return `${f} ${st.size} ${st.mtimeMs} ${createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex')}`;
    });

test('chain verify: read-only, fails on engine-dropped records, on a short store and on unknown fields', async (t) => {
  const dir = tempDir(t);
  const { name: nodeDir, config } = await initSingleNode(dir);
  const node = await startNodeProcess(config);
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= 6 ? true : undefined),
    30_000,
  );
  const fifth = await getJson(`${node.url}/v1/blocks/5`);
  await stopNodeProcess(node, 'SIGKILL');

  const dataDir = join(dir, nodeDir as string, 'data');
  const verify = (...extra: string[]) =>
    tillid(['chain', 'verify', '--genesis', join(dir, 'genesis.json'), '--data-dir', dataDir, ...extra]);
  const before = fingerprint(dataDir);
  const ok = await verify('--expect-height', '5', '--expect-hash', fifth.hash);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^OK: \d+ blocks verified/);
  assert.deepEqual(fingerprint(dataDir), before, 'verify changed the directory it verified');

  const wrongHash = await verify('--expect-height', '5', '--expect-hash', 'ab'.repeat(32));
  assert.equal(wrongHash.code, 1);
  assert.match(wrongHash.stdout, /^FAILED at height 5: the block at the expected head is/);
  const short = await verify('--expect-height', '100000');
  assert.equal(short.code, 1);
  assert.match(short.stdout, /short of the expected head 100000/);
  const usage = await verify('--expect-hash', fifth.hash);
  assert.equal(usage.code, 2);

  // A field nothing signs, added to a stored block.
  const db = new ClassicLevel<string, string>(dataDir);
  const key = `b:${String(3).padStart(12, '0')}`;
  const stored = JSON.parse((await db.get(key)) as string);
  await db.put(key, JSON.stringify({ ...stored, note: 'approved by the mayor' }), { sync: true });
  const certKey = `b:${String(4).padStart(12, '0')}`;
  const fourth = JSON.parse((await db.get(certKey)) as string);
  await db.close();
  const unknown = await verify();
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /^FAILED at height 3: the block has unknown fields/);

  const db2 = new ClassicLevel<string, string>(dataDir);
  await db2.put(key, JSON.stringify(stored), { sync: true });
  await db2.put(certKey, JSON.stringify({ ...fourth, certificate: { ...fourth.certificate, extra: 1 } }), {
    sync: true,
  });
  await db2.close();
  const unknownCert = await verify();
  assert.equal(unknownCert.code, 1);
  assert.match(unknownCert.stdout, /^FAILED at height 4: the certificate has unknown fields/);

  // Damage the last record of the write-ahead log, as a bad copy or a torn disk would: LevelDB's
  // recovery drops it silently; the verifier must not say OK.
  const db3 = new ClassicLevel<string, string>(dataDir);
  await db3.put(certKey, JSON.stringify(fourth), { sync: true });
  await db3.close();
  const [wal] = readdirSync(dataDir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .reverse();
  const walPath = join(dataDir, wal as string);
  const bytes = readFileSync(walPath);
  assert.ok(bytes.length > 16, 'the write-ahead log holds the last write');
  bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
  writeFileSync(walPath, bytes);
  const damaged = fingerprint(dataDir);
  const dropped = await verify();
  assert.equal(dropped.code, 1, dropped.stdout);
  assert.match(dropped.stdout, /^FAILED: the storage engine found damage while opening the store/);
  assert.deepEqual(fingerprint(dataDir), damaged, 'verify repaired the directory it verified');
});
