/**
 * The gateway in front of a real node, called as support systems call it: tokens from the
 * token-service emulator over mutual TLS, providers by client certificate. A contract is drafted,
 * activated by both parties and reported on; bad calls get stable codes, are audited, and put
 * nothing on the chain.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import type { Acting } from '../../client/payloads.ts';
import { bothParties } from '../../client/policies.ts';
import { transactions } from '../../client/transactions.ts';
import { submitAndWait } from '../../gateway/dev-setup.ts';
import { FileKeyStore, type SubmitterSigner } from '../../gateway/keystore.ts';
import { directorPolicies } from '../fixtures/contracts.ts';
import { generateKeyPair, getJson, startTestNode } from '../helpers.ts';
import {
  CARE_HOME,
  type GatewayFixture,
  MUNICIPALITY,
  OTHER_PROVIDER,
  privilege,
  startGatewayFixture,
  TEST_PASSPHRASE,
} from './harness.ts';

/** Terminating takes both parties here, as activating does. */
const policies = { ...directorPolicies(), terminate: bothParties('caseworker') };

const nextMonthStart = () => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
};

async function setup(t: TestContext) {
  const { url: nodeUrl, key } = await startTestNode(t, { blockIntervalMs: 50 });
  const g = await startGatewayFixture<
    'esdh' | 'director' | 'auditor' | 'kle' | 'noAgreement' | 'careHome' | 'otherProvider'
  >(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    register: true,
    systems: {
      esdh: { cvr: MUNICIPALITY, privileges: [privilege('caseworker')] },
      director: { cvr: MUNICIPALITY, privileges: [privilege('director')] },
      auditor: { cvr: MUNICIPALITY, privileges: [privilege('auditor')] },
      kle: { cvr: MUNICIPALITY, privileges: [privilege('caseworker', ['27.*'])] },
      noAgreement: { cvr: MUNICIPALITY, privileges: [privilege('caseworker')], services: [] },
      careHome: { cvr: CARE_HOME },
      otherProvider: { cvr: OTHER_PROVIDER },
    },
  });
  return { g, nodeUrl };
}

async function defineTemplate(g: GatewayFixture<string>, token: string, code = 'placement') {
  const r = await g.call('POST', '/v1/templates?wait=true', {
    as: { token },
    body: { code, policies, releaseWithheldOnReport: true, approvalLifetimeDays: 30 },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.id as string;
}

test('a support system drafts a contract with a token, the provider co-signs by certificate, then reports', async (t) => {
  const { g, nodeUrl } = await setup(t);
  const director = await g.token(g.systems.director);
  const esdh = await g.token(g.systems.esdh);
  const careHome = { cert: g.systems.careHome };

  const template = await defineTemplate(g, director);
  assert.equal(template, `${MUNICIPALITY}/placement`);

  const transactionId = randomUUID();
  const created = await g.call('POST', '/v1/contracts?wait=true', {
    as: { token: esdh },
    headers: {
      'x-TransaktionsId': transactionId,
      'x-TransaktionsTid': new Date().toISOString(),
      'x-tillid-user': 'u-1001',
    },
    body: {
      template,
      provider: CARE_HOME,
      start: nextMonthStart(),
      months: 12,
      items: [{ code: 'residence', monthly: 4_500_000 }],
      reportEveryMonths: 3,
      kle: '27.35.04',
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.status, 'finalized');
  assert.equal(created.headers['x-transaktionsid'], transactionId);
  // Final means a block with a commit certificate the gateway checked itself.
  assert.equal(created.body.block.signatures, 1);
  const contractId = created.body.id as string;

  // On chain the actor is a pseudonym, never the user reference or the system id.
  const onChain = await getJson(`${nodeUrl}/v1/contracts/${contractId}`);
  assert.equal(onChain.status, 'draft');
  const text = JSON.stringify(onChain);
  assert.ok(!text.includes('u-1001') && !text.includes(g.systems.esdh.systemId));

  const propose = await g.call('POST', `/v1/contracts/${contractId}/motions?wait=true`, {
    as: { token: esdh },
    body: { action: 'activate' },
  });
  assert.equal(propose.status, 200, JSON.stringify(propose.body));
  const motion = propose.body.id as string;

  // Another provider cannot co-sign this contract; nothing is submitted.
  const intruder = await g.call('POST', `/v1/contracts/${contractId}/motions/${motion}/approvals?wait=true`, {
    as: { cert: g.systems.otherProvider },
    body: {},
  });
  assert.equal(intruder.status, 403);
  assert.equal(intruder.body.code, 'NOT_PARTY_TO_CONTRACT');

  const cosign = await g.call('POST', `/v1/contracts/${contractId}/motions/${motion}/approvals?wait=true`, {
    as: careHome,
    body: {},
  });
  assert.equal(cosign.status, 200, JSON.stringify(cosign.body));

  const view = await g.call('GET', `/v1/contracts/${contractId}`, { as: careHome });
  assert.equal(view.status, 200);
  assert.equal(view.body.status, 'active');
  assert.ok(view.body.verifiedHead.height >= cosign.body.height);

  // The auditor reads; it cannot write.
  const auditor = await g.token(g.systems.auditor);
  assert.equal((await g.call('GET', `/v1/contracts/${contractId}`, { as: { token: auditor } })).status, 200);
  const auditorWrite = await g.call('POST', `/v1/contracts/${contractId}/motions`, {
    as: { token: auditor },
    body: { action: 'terminate' },
  });
  assert.equal(auditorWrite.status, 403);
  assert.equal(auditorWrite.body.code, 'ROLE_NOT_PERMITTED');

  // A caseworker constrained to KLE 27.* may act on this 27.35.04 contract …
  const kle = await g.token(g.systems.kle);
  assert.equal((await g.call('GET', `/v1/contracts/${contractId}`, { as: { token: kle } })).status, 200);
  // … but may not draft a contract under another subject.
  const outside = await g.call('POST', '/v1/contracts', {
    as: { token: kle },
    body: {
      template,
      provider: CARE_HOME,
      start: nextMonthStart(),
      items: [{ code: 'taxi', monthly: 100_000 }],
      reportEveryMonths: 0,
      kle: '32.10.01',
    },
  });
  assert.equal(outside.status, 403);
  assert.equal(outside.body.code, 'KLE_NOT_PERMITTED');

  // The audit log names system, CVR, action, outcome and transaction id, and no personal data.
  const entry = g.audit.entries.find((e) => e.transactionId === transactionId);
  assert.ok(entry);
  assert.equal(entry.system, g.systems.esdh.systemId);
  assert.equal(entry.cvr, MUNICIPALITY);
  assert.equal(entry.action, 'contract.create');
  assert.equal(entry.outcome, 'ok');
  assert.equal(entry.chainTransaction, contractId);
  assert.match(entry.actor ?? '', /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(g.audit.entries).includes('u-1001'));
  const refused = g.audit.entries.filter((e) => e.outcome === 'refused').map((e) => e.code);
  assert.ok(refused.includes('NOT_PARTY_TO_CONTRACT') && refused.includes('KLE_NOT_PERMITTED'));
});

test('bad identities and calls outside agreements get stable codes, are audited, and submit nothing', async (t) => {
  const { g, nodeUrl } = await setup(t);
  const heightBefore = async () => (await getJson(`${nodeUrl}/v1/status`)).mempool.transactions;
  const esdh = await g.token(g.systems.esdh);
  const body = { code: 'x', policies, releaseWithheldOnReport: true, approvalLifetimeDays: 30 };

  const cases: {
    name: string;
    as?: { token?: string; cert?: never };
    headers?: Record<string, string>;
    code: string;
    status: number;
  }[] = [];
  cases.push({ name: 'no identity', code: 'AUTH_REQUIRED', status: 401 });
  cases.push({ name: 'garbage token', as: { token: 'not.a.jwt' }, code: 'TOKEN_INVALID', status: 401 });
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: g.emulator.issuer,
    aud: 'urn:tillid:gateway:test',
    sub: g.systems.esdh.systemId,
    anvenderkontekst: MUNICIPALITY,
    privileges: [privilege('director')],
    iat: now,
    exp: now + 300,
  };
  cases.push({
    name: 'expired',
    as: { token: await g.emulator.sign({ ...claims, iat: now - 600, exp: now - 60 }) },
    code: 'TOKEN_EXPIRED',
    status: 401,
  });
  cases.push({
    name: 'wrong audience',
    as: { token: await g.emulator.sign({ ...claims, aud: 'urn:other:service' }) },
    code: 'TOKEN_WRONG_AUDIENCE',
    status: 401,
  });
  cases.push({
    name: 'wrong issuer',
    as: { token: await g.emulator.sign({ ...claims, iss: 'https://evil.invalid' }) },
    code: 'TOKEN_WRONG_ISSUER',
    status: 401,
  });
  const { generateKeyPair } = await import('jose');
  const foreign = await generateKeyPair('ES256');
  cases.push({
    name: 'wrongly signed (unpublished key, same kid)',
    as: { token: await g.emulator.sign(claims, { key: foreign.privateKey }) },
    code: 'TOKEN_INVALID',
    status: 401,
  });
  cases.push({
    name: 'CVR this gateway does not serve',
    as: { token: await g.emulator.sign({ ...claims, anvenderkontekst: '99999999' }) },
    code: 'CVR_NOT_SERVED',
    status: 403,
  });
  cases.push({
    name: 'no service agreement',
    as: { token: await g.token(g.systems.noAgreement) },
    code: 'NO_SERVICE_AGREEMENT',
    status: 403,
  });
  cases.push({
    name: 'caseworker defining a template',
    as: { token: esdh },
    code: 'ROLE_NOT_PERMITTED',
    status: 403,
  });
  cases.push({
    name: 'bad transaction id',
    as: { token: esdh },
    headers: { 'x-TransaktionsId': 'not-a-uuid' },
    code: 'TRANSACTION_ID_INVALID',
    status: 400,
  });
  const mempool = await heightBefore();
  for (const c of cases) {
    const r = await g.call('POST', '/v1/templates', {
      as: c.as ?? {},
      body,
      ...(c.headers ? { headers: c.headers } : {}),
    });
    assert.equal(r.status, c.status, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, c.code, c.name);
    assert.equal(typeof r.body.message, 'string');
  }
  // A token from the emulator: a system asking for a CVR it holds no grant for is refused there.
  const refusedByEmulator = await g.token(g.systems.esdh, '11111111').catch((e: Error) => e.message);
  assert.match(String(refusedByEmulator), /invalid_scope/);

  // Certificate from another CA: refused with a code, not a handshake failure.
  const { TestCa } = await import('../../gateway/emulators/test-ca.ts');
  const rogue = await (await TestCa.create('Rogue CA')).issueSystem({
    cvr: CARE_HOME,
    organisation: 'Rogue',
  });
  const untrusted = await g.call('GET', '/v1/contracts', { as: { cert: rogue } });
  assert.equal(untrusted.status, 401);
  assert.equal(untrusted.body.code, 'CERT_UNTRUSTED');

  // PII in a field: refused before signing.
  const director = await g.token(g.systems.director);
  await defineTemplate(g, director, 'pii');
  const pii = await g.call('POST', `/v1/contracts/${'0'.repeat(64)}/reports`, {
    as: { cert: g.systems.careHome },
    body: { period: 1, document: 'a'.repeat(64) },
  });
  assert.equal(pii.status, 404);
  assert.equal(pii.body.code, 'CONTRACT_NOT_FOUND');

  assert.equal(await heightBefore(), mempool, 'nothing was submitted');
  const audited = g.audit.entries.filter((e) => e.outcome === 'refused').map((e) => e.code);
  for (const c of cases) assert.ok(audited.includes(c.code), `audited ${c.code}`);
  assert.ok(audited.includes('CERT_UNTRUSTED'));
});

test('key rotation at the token service reaches the gateway through the JWKS', async (t) => {
  const { g } = await setup(t);
  const before = await g.token(g.systems.esdh);
  assert.equal((await g.call('GET', '/v1/network', { as: { token: before } })).status, 200);
  await g.emulator.rotateKey({ retire: true });
  await new Promise((r) => setTimeout(r, 1100)); // the gateway's JWKS refetch cooldown
  const after = await g.token(g.systems.esdh);
  const r = await g.call('GET', '/v1/network', { as: { token: after } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.topology, 'federated');
  assert.ok(r.body.verifiedHead.height > 0);
  // The retired key's tokens no longer verify.
  const old = await g.call('GET', '/v1/network', { as: { token: before } });
  assert.equal(old.status, 401);
  assert.equal(old.body.code, 'TOKEN_INVALID');
});

test('health, readiness and the OpenAPI document need no identity', async (t) => {
  const { g } = await setup(t);
  assert.equal((await g.call('GET', '/healthz')).status, 200);
  assert.equal((await g.call('GET', '/readyz')).status, 200);
  const docs = await g.call('GET', '/docs/json');
  assert.equal(docs.status, 200);
  for (const path of ['/v1/contracts', '/v1/contracts/{id}/motions', '/v1/templates', '/v1/network'])
    assert.ok(docs.body.paths[path], path);
  void randomBytes;
});

test('a caller-signed transaction is checked and relayed; one acting for another CVR or badly signed is not', async (t) => {
  const { g, nodeUrl } = await setup(t);
  const director = await g.token(g.systems.director);
  const template = await defineTemplate(g, director);
  // The case system's own key, registered for the municipality by the municipality's admin key.
  const own = generateKeyPair();
  const keyStore = FileKeyStore.open(g.keyStoreDir, TEST_PASSPHRASE);
  const admin = keyStore.signer(MUNICIPALITY) as SubmitterSigner;
  const { chainId } = await getJson(`${nodeUrl}/v1/status`);
  // Signing for oneself is one call of the client library, with a key pair or a key store's signer.
  const build = transactions(chainId, { ttlMs: 60_000 });
  await submitAndWait(nodeUrl, [
    build.party.addKey(admin, {
      cvr: MUNICIPALITY,
      key: { publicKey: own.publicKey, roles: ['caseworker'] },
    }),
  ]);

  const draft = (as: Record<string, string>, extra: Record<string, unknown> = {}) =>
    build.contract.create(own, {
      template,
      provider: CARE_HOME,
      start: nextMonthStart(),
      items: [{ code: 'residence', monthly: 100_000 }],
      reportEveryMonths: 0,
      as: as as unknown as Acting,
      ...extra,
    });
  const actor = 'ab'.repeat(32);
  const esdh = { token: await g.token(g.systems.esdh) };
  const relayed = await g.call('POST', '/v1/transactions?wait=true', {
    as: esdh,
    body: draft({ party: MUNICIPALITY, role: 'caseworker', actor }),
  });
  assert.equal(relayed.status, 200, JSON.stringify(relayed.body));
  assert.equal(relayed.body.status, 'finalized');

  const refusals: [string, unknown, number, string][] = [
    [
      'another CVR',
      draft({ party: CARE_HOME, role: 'provider-representative', actor }),
      403,
      'SIGNER_NOT_CALLER',
    ],
    [
      'a role the token lacks',
      draft({ party: MUNICIPALITY, role: 'director', actor }),
      403,
      'ROLE_NOT_PERMITTED',
    ],
    [
      'a bad signature',
      { ...draft({ party: MUNICIPALITY, role: 'caseworker', actor }), signature: '00'.repeat(64) },
      400,
      'TX_BAD_SIGNATURE',
    ],
    [
      'a CPR number',
      draft({ party: MUNICIPALITY, role: 'caseworker', actor }, { reason: '010190-1234' }),
      422,
      'PII_REJECTED',
    ],
  ];
  for (const [name, body, status, code] of refusals) {
    const r = await g.call('POST', '/v1/transactions', { as: esdh, body });
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, name);
  }
  // Through the domain route as well: PII never reaches the signer.
  const pii = await g.call('POST', '/v1/contracts', {
    as: esdh,
    body: {
      template,
      provider: CARE_HOME,
      start: nextMonthStart(),
      items: [{ code: 'x010190-1234', monthly: 100_000 }],
      reportEveryMonths: 0,
    },
  });
  assert.equal(pii.status, 422, JSON.stringify(pii.body));
  assert.equal(pii.body.code, 'PII_REJECTED');
});

test('rate limits apply per calling system; oversized bodies are refused', async (t) => {
  const { url: nodeUrl, key } = await startTestNode(t, { blockIntervalMs: 50 });
  const g = await startGatewayFixture<'busy' | 'quiet'>(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    systems: {
      busy: { cvr: MUNICIPALITY, privileges: [privilege('auditor')] },
      quiet: { cvr: MUNICIPALITY, privileges: [privilege('auditor')] },
    },
    config: { rateLimit: { max: 3, timeWindowMs: 60_000 } },
  });
  const busy = { token: await g.token(g.systems.busy) };
  const quiet = { token: await g.token(g.systems.quiet) };
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await g.call('GET', '/v1/contracts', { as: busy })).status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  const limited = await g.call('GET', '/v1/contracts', { as: busy });
  assert.equal(limited.body.code, 'RATE_LIMITED');
  assert.equal(
    (await g.call('GET', '/v1/contracts', { as: quiet })).status,
    200,
    'another system is not limited',
  );
  assert.ok(g.audit.entries.some((e) => e.code === 'RATE_LIMITED' && e.system === g.systems.busy.systemId));
  const big = await g.call('POST', '/v1/contracts', { as: quiet, body: { pad: 'x'.repeat(70_000) } });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, 'BODY_TOO_LARGE');
});
