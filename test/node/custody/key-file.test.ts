/**
 * Encrypted key files and where their passphrases come from, through the functions and through the
 * real CLI (`tillid keys …`, `tillid tx send`): what an operator sees on a wrong passphrase, a
 * missing one or a tampered file — a clear message, a non-zero exit, and nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  isEncryptedKeyFile,
  keyFilePublicKey,
  readKeyFile,
  readNodeConfigKey,
  writeEncryptedKeyFile,
  writePlaintextKeyFile,
} from '../../../node/custody/key-file.ts';
import { THROWAWAY_PASSPHRASE_FILE } from '../../../node/custody/passphrase.ts';
import { generateKeyPair } from '../../../node/protocol/signature.ts';
import { tempDir } from '../../fixtures/node.ts';
import { initNetworkDir, tillid } from '../../fixtures/processes.ts';

const NO_ENV = {} as NodeJS.ProcessEnv;

function passphraseFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

test('an encrypted key file opens with its passphrase and holds no key material in the clear', (t) => {
  const dir = tempDir(t);
  const key = generateKeyPair();
  const pass = passphraseFile(dir, 'pass', 'correct horse battery staple');
  const file = join(dir, 'key.json');
  writeEncryptedKeyFile(file, key, 'correct horse battery staple');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(key.privateKey), 'the seed is not in the file');
  assert.equal(JSON.parse(text).format, 'tillid-key');
  assert.equal(JSON.parse(text).version, 1);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(isEncryptedKeyFile(file));
  assert.equal(keyFilePublicKey(file), key.publicKey, 'the public key is readable without the passphrase');
  assert.deepEqual(readKeyFile(file, { passphraseFile: pass, env: NO_ENV }), key);
  // The environment variable names the file (it never holds the passphrase).
  assert.deepEqual(readKeyFile(file, { env: { TILLID_PASSPHRASE_FILE: pass } }), key);
});

test('a wrong passphrase, a missing one, an altered file or a hostile scrypt cost are refused clearly', (t) => {
  const dir = tempDir(t);
  const key = generateKeyPair();
  const file = join(dir, 'key.json');
  writeEncryptedKeyFile(file, key, 'correct horse battery staple');
  const wrong = passphraseFile(dir, 'wrong', 'incorrect horse battery staple');
  assert.throws(
    () => readKeyFile(file, { passphraseFile: wrong, env: NO_ENV }),
    /wrong passphrase \(from .*wrong\)/,
  );
  assert.throws(
    () => readKeyFile(file, { env: NO_ENV }),
    /no passphrase file was given for the encrypted key: use --passphrase-file/,
  );
  const right = passphraseFile(dir, 'right', 'correct horse battery staple');
  const parsed = JSON.parse(readFileSync(file, 'utf8'));
  const other = generateKeyPair().publicKey;
  writeFileSync(join(dir, 'swapped.json'), JSON.stringify({ ...parsed, publicKey: other }));
  assert.throws(
    () => readKeyFile(join(dir, 'swapped.json'), { passphraseFile: right, env: NO_ENV }),
    /altered/,
  );
  writeFileSync(join(dir, 'costly.json'), JSON.stringify({ ...parsed, kdf: { ...parsed.kdf, N: 2 ** 30 } }));
  assert.throws(
    () => readKeyFile(join(dir, 'costly.json'), { passphraseFile: right, env: NO_ENV }),
    /not a key file this version can read/,
  );
});

test('tillid keys generate encrypts by default; without a passphrase file it writes nothing', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'key.json');
  const missing = await tillid(['keys', 'generate', '--out', out]);
  // The test process may run where a secret is mounted; the CLI must then have used it, not argv.
  if (!existsSync('/run/secrets/tillid-key-passphrase')) {
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no passphrase file was given/);
    assert.equal(existsSync(out), false, 'nothing written');
  }
  const short = passphraseFile(dir, 'short', 'tooshort');
  const refused = await tillid([
    'keys',
    'generate',
    '--out',
    join(dir, 'k2.json'),
    '--passphrase-file',
    short,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /shorter than 12 characters/);
  assert.equal(existsSync(join(dir, 'k2.json')), false);

  const pass = passphraseFile(dir, 'pass', 'a long enough passphrase');
  const made = await tillid(['keys', 'generate', '--out', join(dir, 'k3.json'), '--passphrase-file', pass]);
  assert.equal(made.code, 0, made.stderr);
  const { publicKey, encrypted } = JSON.parse(made.stdout);
  assert.equal(encrypted, true);
  assert.equal(readKeyFile(join(dir, 'k3.json'), { passphraseFile: pass, env: NO_ENV }).publicKey, publicKey);
  const again = await tillid(['keys', 'generate', '--out', join(dir, 'k3.json'), '--passphrase-file', pass]);
  assert.equal(again.code, 2, 'never overwrites a key file');
  assert.match(again.stderr, /already exists/);
});

test('plaintext only on request, loudly; tillid keys encrypt converts it to the same key', async (t) => {
  const dir = tempDir(t);
  const plain = join(dir, 'plain.json');
  const made = await tillid(['keys', 'generate', '--out', plain, '--plaintext']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stderr, /PLAINTEXT/);
  const { publicKey } = JSON.parse(made.stdout);
  const pass = passphraseFile(dir, 'pass', 'a long enough passphrase');
  const converted = await tillid([
    'keys',
    'encrypt',
    '--key',
    plain,
    '--out',
    join(dir, 'enc.json'),
    '--passphrase-file',
    pass,
  ]);
  assert.equal(converted.code, 0, converted.stderr);
  assert.equal(
    readKeyFile(join(dir, 'enc.json'), { passphraseFile: pass, env: NO_ENV }).publicKey,
    publicKey,
  );
  // A node or tool reading a plaintext file says so.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  writePlaintextKeyFile(join(dir, 'legacy.json'), generateKeyPair());
  readKeyFile(join(dir, 'legacy.json'), { env: NO_ENV });
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.ok(
    warnings.some((w) => /PLAINTEXT/.test(w)),
    'the plaintext read is warned about',
  );
  assert.throws(() => readKeyFile(join(dir, 'legacy.json'), { allowPlaintext: false }), /not encrypted/);
});

test('network init writes encrypted throwaway keys with a marked passphrase file; signing commands take it', async (t) => {
  const dir = tempDir(t);
  const configs = await initNetworkDir(dir, 1, 'custody-test', 0);
  const nodeDir = join(configs[0] as string, '..');
  assert.ok(isEncryptedKeyFile(join(nodeDir, 'key.json')));
  assert.ok(existsSync(join(nodeDir, THROWAWAY_PASSPHRASE_FILE)));
  const config = JSON.parse(readFileSync(configs[0] as string, 'utf8'));
  assert.equal(config.passphraseFile, THROWAWAY_PASSPHRASE_FILE);
  const key = readNodeConfigKey(configs[0] as string, NO_ENV);
  assert.equal(key.publicKey, keyFilePublicKey(join(nodeDir, 'key.json')));
  // A wrong passphrase file on a signing command: refused before anything is sent (no node runs here).
  const wrong = passphraseFile(dir, 'wrong', 'not the passphrase at all');
  const sent = await tillid([
    'tx',
    'send',
    '--key',
    join(nodeDir, 'key.json'),
    '--passphrase-file',
    wrong,
    '--hash',
    'a'.repeat(64),
    '--api',
    'http://127.0.0.1:9',
  ]);
  assert.equal(sent.code, 1);
  assert.match(sent.stderr, /wrong passphrase/);
});

test("the compose networks' init (deploy/init.ts) writes encrypted throwaway keys; a second run keeps them", async (t) => {
  const { initContainerNetwork } = await import('../../../deploy/init.ts');
  const dir = tempDir(t);
  const nodes = [1, 2].map((i) => ({ id: `node-${i}`, name: `Kommune ${i}`, role: 'authority' as const }));
  const first = await initContainerNetwork({ out: dir, chainId: 'custody-compose', nodes });
  for (const n of first.nodes) {
    assert.ok(isEncryptedKeyFile(join(n.dir, 'key.json')));
    assert.equal(readNodeConfigKey(join(n.dir, 'config.json'), NO_ENV).publicKey, n.publicKey);
  }
  const again = await initContainerNetwork({ out: dir, chainId: 'custody-compose', nodes });
  assert.equal(again.created, false);
  assert.deepEqual(
    again.nodes.map((n) => n.publicKey),
    first.nodes.map((n) => n.publicKey),
  );
});

test('keys generate --data-dir gives the new key its empty signed-vote log; without it nothing is written there', async (t) => {
  const dir = tempDir(t);
  const pass = passphraseFile(dir, 'pass', 'a long enough passphrase');
  const made = await tillid([
    'keys',
    'generate',
    '--out',
    join(dir, 'key.json'),
    '--passphrase-file',
    pass,
    '--data-dir',
    join(dir, 'data'),
  ]);
  assert.equal(made.code, 0, made.stderr);
  const log = join(dir, 'data', 'signed-votes.jsonl');
  assert.equal(JSON.parse(made.stdout).signedVoteLog, log);
  assert.equal(readFileSync(log, 'utf8'), '', 'a key that never signed: a complete, empty record');
  // Without --data-dir (a rotation key beside a running node, a client's key): no log anywhere.
  const elsewhere = tempDir(t);
  const other = await tillid([
    'keys',
    'generate',
    '--out',
    join(elsewhere, 'next.json'),
    '--passphrase-file',
    pass,
  ]);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(JSON.parse(other.stdout).signedVoteLog, undefined);
  assert.equal(existsSync(join(elsewhere, 'data')), false);
});

test('keys provision-log writes an empty vote log only into an empty directory; --unless-used leaves a used one alone', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const made = await tillid(['keys', 'provision-log', '--data-dir', data]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(readFileSync(join(data, 'signed-votes.jsonl'), 'utf8'), '');
  // A directory a node has used (here: it has a log with a vote) is never given a made-up log.
  writeFileSync(join(data, 'signed-votes.jsonl'), '{"height":7}\n');
  const again = await tillid(['keys', 'provision-log', '--data-dir', data]);
  assert.equal(again.code, 2, again.stdout);
  assert.match(again.stderr, /not empty/);
  const init = await tillid(['keys', 'provision-log', '--data-dir', data, '--unless-used']);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(readFileSync(join(data, 'signed-votes.jsonl'), 'utf8'), '{"height":7}\n', 'left as it was');
  // A store without a log (a wiped log): left without one, so the node waits before it signs.
  const wiped = join(dir, 'wiped');
  mkdirSync(join(wiped, 'chain'), { recursive: true });
  assert.equal((await tillid(['keys', 'provision-log', '--data-dir', wiped, '--unless-used'])).code, 0);
  assert.equal(existsSync(join(wiped, 'signed-votes.jsonl')), false);
});
