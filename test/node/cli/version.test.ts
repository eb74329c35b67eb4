/** `tillid --version`: what an operator compares before an upgrade (deploy/UPGRADES.md). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../../node/protocol/version.ts';
import { tillid } from '../../fixtures/processes.ts';

test('tillid --version prints the release from package.json and the protocol version', async () => {
  const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8'));
  for (const flag of ['--version', 'version']) {
    const r = await tillid([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `tillid ${version} protocol ${PROTOCOL_VERSION}\n`);
  }
});
