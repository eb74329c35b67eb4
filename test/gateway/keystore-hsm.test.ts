/**
 * The gateway's submitter keys and pseudonym secrets in an HSM (a real SoftHSM2 token): made
 * inside the token by `keys create --hsm`, never readable from it, pseudonyms that do not change
 * across restarts or when a file store is moved in with `keys import-to-hsm`, and a gateway whose
 * transactions are signed by the token's key and finalize on a real node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pkcs11js from 'pkcs11js';
import { FileKeyStore } from '../../gateway/keystore.ts';
import { HsmKeyStore } from '../../gateway/keystore-hsm.ts';
import { closeSession, openSession } from '../../node/custody/pkcs11-session.ts';
import { verifySignature } from '../../node/protocol/signature.ts';
import { directorPolicies } from '../fixtures/contracts.ts';
import { getJson, startTestNode, tempDir } from '../fixtures/node.ts';
import { softHsmToken, useSoftHsm } from '../fixtures/softhsm.ts';
import { MUNICIPALITY, privilege, startGatewayFixture, TEST_PASSPHRASE } from './harness.ts';

const root = mkdtempSync(join(tmpdir(), 'tillid-gateway-hsm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
useSoftHsm(root);

const gatewayCli = async (args: string[], env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(import.meta.dirname, '../../gateway/main.ts'), ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
};

test('keys create --hsm makes keys inside the token: they sign, pseudonyms hold across restarts, nothing is readable', async (t) => {
  const dir = tempDir(t);
  const { config, hsmFile } = softHsmToken(dir, 'gateway-create');
  const made = await gatewayCli([
    'keys',
    'create',
    '--hsm',
    hsmFile,
    '--cvr',
    '29189846',
    '--cvr',
    '12345678',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const keys = made.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    keys.map((k) => k.cvr),
    ['29189846', '12345678'],
  );
  const again = await gatewayCli(['keys', 'create', '--hsm', hsmFile, '--cvr', '29189846']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already holds a key for 29189846/);

  const store = HsmKeyStore.open(config);
  assert.deepEqual(store.cvrs(), ['12345678', '29189846']);
  const signer = store.signer('29189846');
  assert.equal(signer?.publicKey, keys[0].publicKey);
  const message = Buffer.from('tillid/tx/v1\0example');
  assert.ok(verifySignature(keys[0].publicKey, message, signer?.sign(message) as string));
  const pseudonym = store.pseudonym('29189846', 'user-1');
  assert.match(pseudonym ?? '', /^[0-9a-f]{64}$/);
  assert.notEqual(store.pseudonym('29189846', 'user-2'), pseudonym, 'another user, another id');
  assert.notEqual(store.pseudonym('12345678', 'user-1'), pseudonym, 'another party, another id');
  assert.equal(store.pseudonym('99999999', 'user-1'), undefined);
  assert.doesNotMatch(JSON.stringify(store), /[0-9a-f]{64}/, 'no key material in what a log would print');
  store.close();
  const reopened = HsmKeyStore.open(config);
  t.after(() => reopened.close());
  assert.equal(reopened.pseudonym('29189846', 'user-1'), pseudonym, 'the same id after a restart');

  // The token refuses to hand out either secret: sensitive and non-extractable.
  const { module, session } = openSession(config);
  try {
    const { lib } = module;
    for (const kind of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_SECRET_KEY]) {
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: kind }]);
      const handles = lib.C_FindObjects(session, 10);
      lib.C_FindObjectsFinal(session);
      assert.equal(handles.length, 2);
      for (const h of handles) {
        const [extractable] = lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_EXTRACTABLE }]);
        assert.deepEqual(extractable?.value, Buffer.from([0]));
        assert.throws(
          () => lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_VALUE }]),
          /CKR_ATTRIBUTE_SENSITIVE/,
        );
      }
    }
  } finally {
    closeSession(config, module, session);
  }
});

test('keys import-to-hsm moves a file store in: same public keys, same pseudonyms', async (t) => {
  const dir = tempDir(t);
  const keysDir = join(dir, 'keys');
  FileKeyStore.create(keysDir, TEST_PASSPHRASE, '29189846');
  FileKeyStore.create(keysDir, TEST_PASSPHRASE, '12345678');
  const files = FileKeyStore.open(keysDir, TEST_PASSPHRASE);
  const { config, hsmFile } = softHsmToken(dir, 'gateway-import');
  const wrong = await gatewayCli(['keys', 'import-to-hsm', '--dir', keysDir, '--hsm', hsmFile], {
    TILLID_GATEWAY_KEYSTORE_PASSPHRASE: 'not-the-passphrase-at-all',
  });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /wrong passphrase or the file was altered/);
  const moved = await gatewayCli(['keys', 'import-to-hsm', '--dir', keysDir, '--hsm', hsmFile], {
    TILLID_GATEWAY_KEYSTORE_PASSPHRASE: TEST_PASSPHRASE,
  });
  assert.equal(moved.code, 0, moved.stderr);
  const store = HsmKeyStore.open(config);
  t.after(() => store.close());
  assert.deepEqual(store.cvrs(), ['12345678', '29189846']);
  for (const cvr of store.cvrs()) {
    assert.equal(store.signer(cvr)?.publicKey, files.signer(cvr)?.publicKey);
    assert.equal(store.pseudonym(cvr, 'user-1'), files.pseudonym(cvr, 'user-1'), 'actor ids stay linkable');
  }
});

test('a gateway with keyStoreHsm signs with the token key; its transactions finalize', async (t) => {
  const dir = tempDir(t);
  const { config } = softHsmToken(dir, 'gateway-live');
  HsmKeyStore.create(config, MUNICIPALITY);
  for (const provider of ['12345678', '87654321']) HsmKeyStore.create(config, provider);
  const { url: nodeUrl, key } = await startTestNode(t, { blockIntervalMs: 50 });
  const registrar = HsmKeyStore.open(config);
  t.after(() => registrar.close());
  const g = await startGatewayFixture<'director'>(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    register: true,
    keyStore: registrar,
    config: { keyStoreHsm: { module: config.module, token: config.token, pinFile: config.pinFile } },
    systems: { director: { cvr: MUNICIPALITY, privileges: [privilege('director')] } },
  });
  const r = await g.call('POST', '/v1/templates?wait=true', {
    as: { token: await g.token(g.systems.director) },
    body: {
      code: 'placement',
      policies: directorPolicies(),
      releaseWithheldOnReport: true,
      approvalLifetimeDays: 30,
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const block = (await getJson(`${nodeUrl}/v1/blocks/${r.body.height}`)) as {
    transactions: { type: string; signer: string }[];
  };
  const tx = block.transactions.find((x) => x.type === 'contract.defineTemplate');
  assert.equal(tx?.signer, registrar.signer(MUNICIPALITY)?.publicKey, 'signed by the key in the token');
});
