/** The gateway's parts on their own: key store, certificate identity, configuration. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { identityFromCertificate } from '../../gateway/auth/certificate.ts';
import { ConfigError, loadGatewayConfig, printable, validateGatewayConfig } from '../../gateway/config.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';
import { GatewayError } from '../../gateway/errors.ts';
import { FileKeyStore, KeyStoreError } from '../../gateway/keystore.ts';
import { signingMessage, verifySignature } from '../../node/protocol/signature.ts';
import { tempDir } from '../helpers.ts';

const PASSPHRASE = 'throwaway-unit-test-passphrase';

test('key store: encrypted at rest, opened only with the passphrase, bound to its CVR', (t) => {
  const dir = tempDir(t);
  const publicKey = FileKeyStore.create(dir, PASSPHRASE, '29189846');
  FileKeyStore.create(dir, PASSPHRASE, '12345678');
  assert.throws(() => FileKeyStore.create(dir, PASSPHRASE, '29189846'), KeyStoreError);
  const store = FileKeyStore.open(dir, PASSPHRASE);
  assert.deepEqual([...store.cvrs()].sort(), ['12345678', '29189846']);
  const signer = store.signer('29189846');
  assert.equal(signer?.publicKey, publicKey);
  const message = signingMessage('tx', 'ab'.repeat(32));
  assert.ok(verifySignature(publicKey, message, signer?.sign(message) as string));
  assert.equal(JSON.stringify(store), JSON.stringify({ cvrs: store.cvrs() }), 'keys never serialise');

  // The file holds no key material in the clear.
  const file = join(dir, '29189846.key.json');
  const text = readFileSync(file, 'utf8');
  assert.ok(!/privateKey|pseudonymSecret/.test(text));

  // Pseudonyms: stable, 64 hex, different per CVR and per identity, never the identity.
  const a = store.pseudonym('29189846', 'token:system-a');
  assert.match(a ?? '', /^[0-9a-f]{64}$/);
  assert.equal(store.pseudonym('29189846', 'token:system-a'), a);
  assert.notEqual(store.pseudonym('12345678', 'token:system-a'), a);
  assert.notEqual(store.pseudonym('29189846', 'token:system-b'), a);
  assert.equal(store.pseudonym('99999999', 'x'), undefined);

  assert.throws(
    () => FileKeyStore.open(dir, 'the-wrong-passphrase'),
    /wrong passphrase or the file was altered/,
  );
  // Moving a key file to another CVR breaks its authentication.
  const moved = JSON.parse(text);
  moved.cvr = '11111111';
  const other = tempDir(t);
  writeFileSync(join(other, '11111111.key.json'), JSON.stringify(moved));
  assert.throws(() => FileKeyStore.open(other, PASSPHRASE), /wrong passphrase or the file was altered/);
});

test('certificate identity: the CVR and system id come from the OCES-style subject', async () => {
  const ca = await TestCa.create();
  const issued = await ca.issueSystem({
    cvr: '12345678',
    organisation: 'Plejehjemmet Solsiden',
    uid: 'care-sys-1',
  });
  const identity = identityFromCertificate(new X509Certificate(issued.certPem));
  assert.deepEqual(identity, { cvr: '12345678', system: 'CVR:12345678-UID:care-sys-1' });
  assert.ok(new X509Certificate(issued.certPem).checkIssued(new X509Certificate(ca.certPem)));
  const server = await ca.issueServer(['localhost']);
  assert.throws(
    () => identityFromCertificate(new X509Certificate(server.certPem)),
    (e: unknown) => e instanceof GatewayError && e.code === 'CERT_NO_CVR',
  );
});

const base = {
  token: { issuer: 'https://sts.test', audience: 'urn:tillid:gateway', jwksUrl: 'https://sts.test/jwks' },
  municipalities: [{ cvr: '29189846', nodes: ['http://127.0.0.1:7101'] }],
  keyStoreDir: 'keys',
};

test('config: defaults, validation with a message naming the field, environment overrides, printable', (t) => {
  const config = validateGatewayConfig(base, '/srv/gateway');
  assert.equal(config.listen.port, 8080);
  assert.equal(config.topology, 'federated');
  assert.equal(config.keyStoreDir, '/srv/gateway/keys');
  const bad = (raw: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(
      () => validateGatewayConfig({ ...base, ...raw }, '/'),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    );
  bad({ topology: 'mesh' }, /topology must be one of local, federated, central, hybrid/);
  bad({ municipalities: [{ cvr: '123', nodes: [] }] }, /municipalities\[0\]\.cvr/);
  bad({ topology: 'central' }, /central needs sharedNodes/);
  bad({ agreements: [{ system: 's', service: 'payments', cvr: '29189846' }] }, /agreements\[0\]\.service/);
  bad({ token: undefined }, /no way to authenticate/);
  bad(
    {
      topology: 'local',
      municipalities: [
        { cvr: '29189846', nodes: ['http://a:1'] },
        { cvr: '11111111', nodes: ['http://b:1'] },
      ],
    },
    /local serves exactly one municipality/,
  );

  const dir = tempDir(t);
  const file = join(dir, 'gateway.json');
  writeFileSync(
    file,
    // The events section as it is spelt (a misspelt key is a start-up error: gateway/config.test.ts).
    JSON.stringify({
      ...base,
      events: { amqp: { url: 'amqps://gw:hunter22@mq/' }, stateDir: 'events' },
    }),
  );
  assert.throws(() => loadGatewayConfig(file, {}), /TILLID_GATEWAY_KEYSTORE_PASSPHRASE/);
  const loaded = loadGatewayConfig(file, {
    TILLID_GATEWAY_PORT: '9443',
    TILLID_GATEWAY_KEYSTORE_PASSPHRASE: PASSPHRASE,
  });
  assert.equal(loaded.config.listen.port, 9443);
  assert.equal(loaded.secrets.keyStorePassphrase, PASSPHRASE);
  const printed = JSON.stringify(printable(loaded.config));
  assert.ok(!printed.includes(PASSPHRASE) && !printed.includes('hunter22') && !printed.includes('s3cret'));
  assert.ok(printed.includes('amqps://gw:[redacted]@mq/'));
});
