/**
 * What a quiet network costs is set by defaults: a block-time chain makes an empty block only
 * every ten minutes (README, "Empty blocks and idle cost"), a development chain on the accelerated
 * business clock keeps making them at the block pace (there, blocks are business time), and every
 * launcher starts node processes with the same memory-trimming settings.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { acceleratedClock, initNetwork } from '../../../node/cli/network.ts';
import { NODE_ENV, NODE_FLAGS } from '../../../node/cli/node-flags.ts';
import { loadConfig, validateConfig } from '../../../node/config.ts';
import { tempDir } from '../../fixtures/node.ts';

const minimal = { name: 'K', genesisFile: 'g.json', keyFile: 'k.json', dataDir: 'data' };

test('an empty block every ten minutes by default, never sooner than the block interval', () => {
  assert.equal(validateConfig(minimal, '/').emptyBlockIntervalMs, 600_000);
  assert.equal(validateConfig({ ...minimal, blockIntervalMs: 60_000 }, '/').emptyBlockIntervalMs, 600_000);
  assert.equal(validateConfig({ ...minimal, emptyBlockIntervalMs: 500 }, '/').emptyBlockIntervalMs, 500);
  assert.throws(
    () => validateConfig({ ...minimal, blockIntervalMs: 1000, emptyBlockIntervalMs: 500 }, '/'),
    /emptyBlockIntervalMs must be at least blockIntervalMs/,
  );
});

test('TILLID_EMPTY_BLOCK_INTERVAL_MS overrides the file', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(minimal));
  assert.equal(loadConfig(file, { TILLID_EMPTY_BLOCK_INTERVAL_MS: '2000' }).emptyBlockIntervalMs, 2000);
  assert.equal(loadConfig(file, {}).emptyBlockIntervalMs, 600_000);
});

test('network init: block time idles, the accelerated development clock keeps the block pace', async (t) => {
  const municipalities = [
    { name: 'A Kommune', cvr: '29189846' },
    { name: 'B Kommune', cvr: '11111111' },
  ];
  const common = { chainId: 'tillid-idle', municipalities, basePort: 47_100, host: '127.0.0.1' };
  const now = Date.UTC(2026, 0, 5);
  const plain = await initNetwork({ ...common, out: tempDir(t), blockIntervalMs: 500, genesisTime: now });
  const fast = await initNetwork({
    ...common,
    out: tempDir(t),
    blockIntervalMs: 500,
    genesisTime: now,
    clock: acceleratedClock(1, now),
  });
  for (const dir of plain.nodeDirs) {
    const config = loadConfig(join(dir, 'config.json'), {});
    assert.equal(config.emptyBlockIntervalMs, 600_000);
  }
  for (const dir of fast.nodeDirs) {
    const config = loadConfig(join(dir, 'config.json'), {});
    assert.equal(config.emptyBlockIntervalMs, 500, 'a business day per block needs the blocks');
  }
});

test('the node images launch with the same settings as tillid network up', () => {
  for (const file of ['node.Dockerfile', 'node.offline.Dockerfile']) {
    const text = readFileSync(join(import.meta.dirname, '../../../docker', file), 'utf8');
    const entrypoint = /^ENTRYPOINT \[(.*)\]$/m.exec(text)?.[1] ?? '';
    for (const flag of NODE_FLAGS) assert.ok(entrypoint.includes(`"${flag}"`), `${file}: ${flag}`);
    for (const [name, value] of Object.entries(NODE_ENV)) {
      // The compile cache's place differs by design: a checkout's node_modules/.cache, the volume.
      const expected = name === 'NODE_COMPILE_CACHE' ? '/var/lib/tillid/.compile-cache' : value;
      assert.match(text, new RegExp(`^ENV ${name}=${expected}$`, 'm'), `${file}: ${name}`);
    }
  }
});
