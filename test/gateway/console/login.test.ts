/**
 * Person login without a browser: the console's OIDC client against the Context Handler emulator
 * over HTTPS (test CA). A good round trip yields the person with mapped privileges and KLE; a
 * wrong state, a reused code, a code from another login (PKCE) and an unregistered redirect URI
 * are refused.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import { LoginError, OidcClient, type PendingLogin } from '../../../gateway/console/oidc.ts';
import { ContextHandlerEmulator } from '../../../gateway/emulators/context-handler-oidc.ts';
import { TestCa } from '../../../gateway/emulators/test-ca.ts';

const REDIRECT = 'https://localhost:9/konsol/callback';

async function setUp(t: { after(fn: () => unknown): void }) {
  const ca = await TestCa.create();
  const server = await ca.issueServer(['localhost', '127.0.0.1']);
  const idp = await ContextHandlerEmulator.start({
    cert: server.certPem,
    key: server.keyPem,
    clients: { konsol: [REDIRECT] },
    persons: [
      {
        sub: 'p-1',
        name: 'Test Person',
        cvr: '29189846',
        privileges: [
          {
            privilege: 'urn:dk:tillid:roles:caseworker',
            constraints: [{ name: 'urn:dk:kombit:KLE', value: '27.*' }],
          },
          { privilege: 'http://kommune.dk/roller/centerchef' },
        ],
      },
    ],
  });
  t.after(() => idp.stop());
  const client = new OidcClient({
    issuer: idp.issuer,
    clientId: 'konsol',
    redirectUri: REDIRECT,
    ca: ca.certPem,
    roleUris: { 'http://kommune.dk/roller/centerchef': 'centre-chief' },
  });
  /** The browser's part: the picker form posted for person `p-1`; returns where it was sent. */
  const choose = (authorizeUrl: string, person = 'p-1') =>
    new Promise<{ status: number; location: URL | undefined }>((resolve, reject) => {
      const url = new URL(authorizeUrl);
      const req = request(
        `${url.origin}/authorize`,
        { method: 'POST', ca: ca.certPem, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          res.resume();
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location ? new URL(res.headers.location) : undefined,
          });
        },
      );
      req.on('error', reject);
      const form = new URLSearchParams(url.searchParams);
      form.set('person', person);
      req.end(form.toString());
    });
  return { idp, client, choose };
}

const codeOf = (location: URL | undefined) => location?.searchParams.get('code') ?? '';

test('a person logs in: code + PKCE, verified ID token, privileges mapped with KLE', async (t) => {
  const { client, choose } = await setUp(t);
  const { url, pending } = await client.begin();
  const sent = await choose(url);
  assert.equal(sent.status, 303);
  assert.equal(sent.location?.origin + (sent.location?.pathname ?? ''), REDIRECT);
  assert.equal(sent.location?.searchParams.get('state'), pending.state);
  const person = await client.finish(pending, codeOf(sent.location), pending.state);
  assert.deepEqual(person, {
    sub: 'p-1',
    name: 'Test Person',
    cvr: '29189846',
    privileges: [{ role: 'caseworker', kle: ['27.*'] }, { role: 'centre-chief' }],
  });
  // The code is used once.
  await assert.rejects(client.finish(pending, codeOf(sent.location), pending.state), LoginError);
});

test('refused: wrong state, a code from another login (PKCE), no pending login, unknown redirect', async (t) => {
  const { idp, client, choose } = await setUp(t);
  const first = await client.begin();
  const sent = await choose(first.url);
  await assert.rejects(client.finish(first.pending, codeOf(sent.location), 'forged-state'), LoginError);
  await assert.rejects(client.finish(undefined, codeOf(sent.location), first.pending.state), LoginError);
  // Another login's pending state (its own state and verifier) cannot redeem this code.
  const second = await client.begin();
  const sent2 = await choose(first.url);
  const other: PendingLogin = { ...second.pending, state: first.pending.state };
  await assert.rejects(client.finish(other, codeOf(sent2.location), first.pending.state), /refused the code/);
  // The IdP never redirects to an unregistered address.
  const evil = new URL(first.url);
  evil.searchParams.set('redirect_uri', 'https://evil.example/cb');
  const answer = await choose(evil.toString());
  assert.equal(answer.status, 400);
  assert.equal(answer.location, undefined);
  assert.ok(idp.issuer.startsWith('https://localhost:'));
});
