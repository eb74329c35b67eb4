/**
 * The assembled node's lifecycle: a node that cannot start leaves nothing open, so the operator
 * can fix the cause (a busy port) and start again on the same data directory at once.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../node/config.ts';
import { writePlaintextKeyFile } from '../../node/custody/key-file.ts';
import { createLogger } from '../../node/log.ts';
import { TillidNode } from '../../node/node.ts';
import { devGenesis, generateKeyPair, getJson, startTestNode, tempDir } from '../helpers.ts';

test('a node whose API port is taken fails to start, releases its store, and its data directory starts again at once', async (t) => {
  const { url: busyUrl } = await startTestNode(t);
  const port = Number(new URL(busyUrl).port);

  const dir = tempDir(t);
  const key = generateKeyPair();
  writePlaintextKeyFile(join(dir, 'key.json'), key);
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(devGenesis([key])));
  const config = (apiPort: number) =>
    validateConfig(
      {
        name: 'Test Kommune',
        genesisFile: 'genesis.json',
        keyFile: 'key.json',
        dataDir: 'data',
        api: { host: '127.0.0.1', port: apiPort },
        blockIntervalMs: 50,
        logLevel: 'silent',
      },
      dir,
    );

  await assert.rejects(
    TillidNode.start(config(port), createLogger('silent')),
    /cannot listen on 127\.0\.0\.1:/,
  );
  // The busy node is untouched by its neighbour's failure.
  assert.equal((await getJson(`${busyUrl}/v1/status`)).chainId, 'tillid-test');

  // Same data directory, right away: the failed start closed the store (LevelDB holds a lock).
  const node = await TillidNode.start(config(0), createLogger('silent'));
  t.after(() => node.stop());
  const status = await getJson(`${node.url}/v1/status`);
  assert.equal(status.chainId, 'tillid-test');
});
