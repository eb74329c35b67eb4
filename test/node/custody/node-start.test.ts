/**
 * A node's key from its configuration: an encrypted key file with its passphrase file (or
 * TILLID_PASSPHRASE_FILE), or an HSM. A wrong passphrase or PIN stops `tillid node start` with a
 * clear message and a non-zero exit before anything is created.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, validateConfig } from '../../../node/config.ts';
import { writeEncryptedKeyFile, writePlaintextKeyFile } from '../../../node/custody/key-file.ts';
import { generateKeyPair } from '../../../node/protocol/signature.ts';
import { devGenesis, getJson, tempDir, waitFor } from '../../fixtures/node.ts';
import { CLI, startNodeProcess, stopNodeProcess, tillid } from '../../fixtures/processes.ts';
import { softHsmToken, useSoftHsm } from '../../fixtures/softhsm.ts';

const root = mkdtempSync(join(tmpdir(), 'tillid-softhsm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
useSoftHsm(root);

const base = { name: 'Test Kommune', genesisFile: 'genesis.json', dataDir: 'data', logLevel: 'silent' };

test('config: a key file or an HSM, not both; the passphrase file from the config or TILLID_PASSPHRASE_FILE', (t) => {
  const hsm = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 't', keyLabel: 'k', pinFile: 'pin' };
  assert.throws(() => validateConfig({ ...base }, '/x'), /keyFile \(or hsm\) is required/);
  assert.throws(() => validateConfig({ ...base, keyFile: 'key.json', hsm }, '/x'), /either keyFile or hsm/);
  assert.throws(
    () => validateConfig({ ...base, hsm: { ...hsm, pinFile: undefined } }, '/x'),
    /hsm\.pinFile is required/,
  );
  const withHsm = validateConfig({ ...base, hsm }, '/x');
  assert.equal(withHsm.hsm?.pinFile, '/x/pin', 'the PIN file is relative to the config');
  assert.equal(withHsm.keyFile, undefined);
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...base, keyFile: 'key.json', passphraseFile: 'p' }),
  );
  assert.equal(loadConfig(join(dir, 'config.json'), {}).passphraseFile, join(dir, 'p'));
  assert.equal(
    loadConfig(join(dir, 'config.json'), { TILLID_PASSPHRASE_FILE: '/run/secrets/other' }).passphraseFile,
    '/run/secrets/other',
    'the environment names the secret file in containers',
  );
  assert.ok(ConfigError);
});

function nodeDir(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const key = generateKeyPair();
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(devGenesis([key])));
  return { dir, key };
}

test('node start: a wrong passphrase or a wrong PIN stops it with a clear message, and creates nothing', async (t) => {
  const { dir, key } = nodeDir(t);
  writeEncryptedKeyFile(join(dir, 'key.json'), key, 'the right passphrase');
  writeFileSync(join(dir, 'wrong'), 'the wrong passphrase\n');
  const config = {
    ...base,
    keyFile: 'key.json',
    passphraseFile: 'wrong',
    api: { host: '127.0.0.1', port: 0 },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const refused = await tillid(['node', 'start', '--config', join(dir, 'config.json')]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr + refused.stdout, /wrong passphrase \(from .*wrong\)/);
  assert.equal(existsSync(join(dir, 'data')), false, 'no store was created');

  const token = softHsmToken(dir, 'start-test');
  const made = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(made.code, 0, made.stderr);
  writeFileSync(join(dir, 'wrong.pin'), '0000\n');
  const hsmConfig = {
    ...base,
    hsm: { ...token.config, pinFile: 'wrong.pin' },
    api: { host: '127.0.0.1', port: 0 },
  };
  writeFileSync(join(dir, 'hsm-config.json'), JSON.stringify(hsmConfig));
  const wrongPin = await tillid(['node', 'start', '--config', join(dir, 'hsm-config.json')]);
  assert.notEqual(wrongPin.code, 0);
  assert.match(wrongPin.stderr + wrongPin.stdout, /wrong PIN for token "start-test"/);
  assert.equal(existsSync(join(dir, 'data')), false, 'no store was created');
});

test('node start: a single authority whose key is in SoftHSM2 produces blocks', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'solo-test');
  const made = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(made.code, 0, made.stderr);
  const { publicKey } = JSON.parse(made.stdout);
  writeFileSync(
    join(dir, 'genesis.json'),
    JSON.stringify(devGenesis([{ publicKey, privateKey: '00'.repeat(32) }])),
  );
  const config = {
    ...base,
    hsm: token.config,
    logLevel: 'info',
    blockIntervalMs: 50,
    emptyBlockIntervalMs: 50,
    api: { host: '127.0.0.1', port: 0 },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const node = await startNodeProcess(join(dir, 'config.json'));
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  let height = 0;
  for (let i = 0; i < 100 && height < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    height = (await getJson(`${node.url}/v1/status`)).height;
  }
  assert.ok(height >= 3, `the HSM-keyed authority produced blocks (height ${height})`);
  const block = await getJson(`${node.url}/v1/blocks/2`);
  assert.equal(block.header.proposer, publicKey);
  await stopNodeProcess(node);
});

test('node start: an old plaintext key file still starts the node, with a warning in its log', async (t) => {
  const { dir, key } = nodeDir(t);
  writePlaintextKeyFile(join(dir, 'key.json'), key);
  const config = { ...base, keyFile: 'key.json', logLevel: 'info', api: { host: '127.0.0.1', port: 0 } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, [CLI, 'node', 'start', '--config', join(dir, 'config.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  for (let i = 0; i < 300 && !out.includes('"node started"'); i++)
    await new Promise((r) => setTimeout(r, 100));
  const warning = out.split('\n').find((l) => l.includes('PLAINTEXT'));
  assert.ok(warning, 'the log says the key is plaintext');
  assert.equal(JSON.parse(warning).level, 40, 'at warn level');
  assert.ok(!out.includes(key.privateKey), 'and never prints the key');
});

test('node start: when its HSM token disappears the node says so and exits (fail-stop), never runs on silently', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'vanishing-test');
  const made = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(made.code, 0, made.stderr);
  const { publicKey } = JSON.parse(made.stdout);
  writeFileSync(
    join(dir, 'genesis.json'),
    JSON.stringify(devGenesis([{ publicKey, privateKey: '00'.repeat(32) }])),
  );
  const config = {
    ...base,
    hsm: token.config,
    logLevel: 'info',
    blockIntervalMs: 50,
    emptyBlockIntervalMs: 50,
    api: { host: '127.0.0.1', port: 0 },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const node = await startNodeProcess(join(dir, 'config.json'));
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  let out = '';
  node.child.stdout?.on('data', (d) => {
    out += d;
  });
  await waitFor(
    async () => ((await getJson(`${node.url}/v1/status`)).height >= 2 ? true : undefined),
    20_000,
  );
  execFileSync('softhsm2-util', ['--delete-token', '--token', 'vanishing-test'], { stdio: 'ignore' });
  const code = await Promise.race([
    node.exited,
    new Promise((r) => setTimeout(() => r('still running'), 20_000)),
  ]);
  assert.notEqual(code, 0, 'exited non-zero');
  assert.notEqual(code, 'still running');
  assert.match(out, /the HSM failed to sign: stopping the node/);
});
