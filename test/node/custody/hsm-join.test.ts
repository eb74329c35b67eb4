/**
 * A joiner whose key is in an HSM, with no hand edit: `tillid network join --hsm <hsm.json>` reads
 * the public key from the token (SoftHSM2), writes a config.json that names the token instead of a
 * key file, and the node starts from that file untouched, signing with the token. A token without
 * the key is refused before anything is written, and `--hsm` with `--key` is a usage error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getJson, tempDir } from '../../fixtures/node.ts';
import {
  initSingleNode,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
  tillid,
} from '../../fixtures/processes.ts';
import { softHsmToken, useSoftHsm } from '../../fixtures/softhsm.ts';

const root = mkdtempSync(join(tmpdir(), 'tillid-softhsm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
useSoftHsm(root);

test('network join --hsm writes a config that signs with the token, and refuses a token without the key', async (t) => {
  const dir = tempDir(t);
  const { config } = await initSingleNode(join(dir, 'net'));
  const member: NodeProcess = await startNodeProcess(config);
  t.after(() => stopNodeProcess(member, 'SIGKILL'));
  const genesis = join(dir, 'net', 'genesis.json');
  const joinArgs = (out: string, extra: string[]) => [
    'network',
    'join',
    '--genesis',
    genesis,
    '--from',
    member.url,
    '--name',
    'Kommune E',
    '--cvr',
    '44444444',
    '--host',
    '127.0.0.1',
    '--p2p-port',
    '0',
    '--api-port',
    '0',
    '--out',
    out,
    ...extra,
  ];

  // A token with no key labelled as the file says: refused, naming the token, nothing written.
  const empty = softHsmToken(dir, 'kommune-e-empty');
  const refusedOut = join(dir, 'refused');
  const refused = await tillid(joinArgs(refusedOut, ['--hsm', empty.hsmFile]));
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /token "kommune-e-empty" holds no Ed25519 private key labelled "authority"/);
  assert.ok(!existsSync(refusedOut) || readdirSync(refusedOut).length === 0);

  const token = softHsmToken(dir, 'kommune-e');
  const both = await tillid(joinArgs(join(dir, 'both'), ['--hsm', token.hsmFile, '--key', 'k.json']));
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--hsm names the key/);

  const generated = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(generated.code, 0, generated.stderr);
  const hsmKey = JSON.parse(generated.stdout).publicKey as string;

  const out = join(dir, 'kommune-e');
  const joined = await tillid(joinArgs(out, ['--hsm', token.hsmFile]));
  assert.equal(joined.code, 0, joined.stderr);
  const plan = JSON.parse(joined.stdout);
  assert.equal(plan.publicKey, hsmKey, "the proposal names the token's key");
  assert.match(plan.propose, new RegExp(`--public-key ${hsmKey}`));
  const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(written.hsm, token.config);
  assert.equal(written.keyFile, undefined);
  assert.equal(written.passphraseFile, undefined);
  assert.equal(existsSync(join(out, 'key.json')), false, 'no key file is made');

  // The node starts from the file as written and signs with the token.
  const newcomer = await startNodeProcess(join(out, 'config.json'));
  t.after(() => stopNodeProcess(newcomer, 'SIGKILL'));
  const status = await getJson(`${newcomer.url}/v1/status`);
  assert.equal(status.genesisHash, plan.genesisHash);
  const opened = newcomer.startLog
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((l) => l.key !== undefined);
  assert.equal(opened?.publicKey, hsmKey);
  assert.equal(opened?.key, 'hsm:kommune-e/authority');
});

test('network init --hsm refuses a token without the key, an unknown member and a mismatched key, writing nothing', async (t) => {
  const dir = tempDir(t);
  const empty = softHsmToken(dir, 'init-empty');
  const init = (out: string, extra: string[]) =>
    tillid([
      'network',
      'init',
      '--out',
      out,
      '--municipality',
      'Kommune A:11111111',
      '--municipality',
      'Kommune B:22222222',
      ...extra,
    ]);
  const noKey = await init(join(dir, 'a'), ['--hsm', `Kommune A=${empty.hsmFile}`]);
  assert.equal(noKey.code, 1, noKey.stdout);
  assert.match(noKey.stderr, /token "init-empty" holds no Ed25519 private key labelled "authority"/);
  assert.ok(!existsSync(join(dir, 'a')), 'nothing written');

  const unknown = await init(join(dir, 'b'), ['--hsm', `Kommune Z=${empty.hsmFile}`]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--hsm "Kommune Z=.*": no municipality named Kommune Z/);
  assert.ok(!existsSync(join(dir, 'b')));

  // A public key given for the member must be the token's.
  const token = softHsmToken(dir, 'init-a');
  const generated = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(generated.code, 0, generated.stderr);
  const other = 'ab'.repeat(32);
  const mismatched = await tillid([
    'network',
    'init',
    '--out',
    join(dir, 'c'),
    '--municipality',
    `Kommune A:11111111:${other}`,
    '--municipality',
    'Kommune B:22222222',
    '--hsm',
    `Kommune A=${token.hsmFile}`,
  ]);
  assert.equal(mismatched.code, 2, mismatched.stderr);
  assert.match(mismatched.stderr, /Kommune A: the public key given is not the key in its HSM/);
  assert.ok(!existsSync(join(dir, 'c', 'genesis.json')));
});
