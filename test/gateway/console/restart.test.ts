/**
 * A console session survives a restart of the whole gateway (issue 16): over HTTPS, without a
 * browser, a person logs in through the Context Handler emulator (code + PKCE), a second session
 * logs out, the gateway is stopped and started again from the same config (`console.sessionFile`),
 * and the first session is still the person's — their overview, same CSRF token — while the logged
 * out one stays out. Before, sessions lived in memory and a restart logged everyone out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContextHandlerEmulator } from '../../../gateway/emulators/context-handler-oidc.ts';
import { TestCa } from '../../../gateway/emulators/test-ca.ts';
import { startGateway } from '../../../gateway/main.ts';
import { createLogger } from '../../../node/log.ts';
import { startTestNode } from '../../helpers.ts';
import { MUNICIPALITY, privilege, startGatewayFixture, TEST_PASSPHRASE } from '../harness.ts';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

interface Answer {
  status: number;
  location?: string;
  cookies: string[];
  body: string;
}

function send(
  url: string,
  ca: string,
  o: { method?: string; cookie?: string; form?: Record<string, string>; origin?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        ca,
        headers: {
          ...(o.cookie ? { cookie: o.cookie } : {}),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(o.origin ? { origin: o.origin } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers.location ? { location: res.headers.location } : {}),
            cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] as string),
            body: text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('a console session survives a gateway restart; a logout before it stays a logout', async (t) => {
  // Removed last (after hooks run in order): the gateways write their session file as they stop.
  const dir = mkdtempSync(join(tmpdir(), 'tillid-console-restart-'));
  const { url: nodeUrl, key } = await startTestNode(t);
  const idpCa = await TestCa.create();
  const idpServer = await idpCa.issueServer(['localhost', '127.0.0.1']);
  writeFileSync(join(dir, 'idp-ca.pem'), idpCa.certPem);
  const port = await freePort();
  const publicUrl = `https://localhost:${port}`;
  const idp = await ContextHandlerEmulator.start({
    cert: idpServer.certPem,
    key: idpServer.keyPem,
    persons: [
      { sub: 'sub-1', name: 'Sara Sagsbehandler', cvr: MUNICIPALITY, privileges: [privilege('caseworker')] },
    ],
    clients: { 'tillid-konsol': [`${publicUrl}/konsol/callback`] },
  });
  t.after(() => idp.stop());
  const g = await startGatewayFixture(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    config: {
      listen: { host: '127.0.0.1', port },
      console: {
        issuer: idp.issuer,
        clientId: 'tillid-konsol',
        publicUrl,
        issuerCaFile: join(dir, 'idp-ca.pem'),
        sessionFile: join(dir, 'console-sessions.json'),
      },
    },
  });
  const ca = g.ca.certPem;

  /** The browser's part of a login: gateway → IdP (person picked) → callback → session cookie. */
  const login = async () => {
    const begin = await send(`${publicUrl}/konsol/login`, ca);
    assert.equal(begin.status, 303);
    const authorize = new URL(begin.location as string);
    const form = Object.fromEntries(authorize.searchParams);
    const picked = await send(`${authorize.origin}/authorize`, idpCa.certPem, {
      method: 'POST',
      form: { ...form, person: 'sub-1' },
    });
    assert.equal(picked.status, 303, picked.body);
    const callback = await send(picked.location as string, ca, { cookie: begin.cookies.join('; ') });
    assert.equal(callback.status, 303, callback.body);
    const session = callback.cookies.find((c) => c.startsWith('__Host-tillid-konsol=') && c.length > 25);
    assert.ok(session, 'a session cookie');
    return session;
  };
  const overview = (cookie: string) => send(`${publicUrl}/konsol/`, ca, { cookie });
  const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] as string;

  const kept = await login();
  const before = await overview(kept);
  assert.match(before.body, /<h1>Overblik<\/h1>/);
  assert.match(before.body, /Sara Sagsbehandler/);
  const leaving = await login();
  const out = await send(`${publicUrl}/konsol/logout`, ca, {
    method: 'POST',
    cookie: leaving,
    origin: publicUrl,
    form: { _csrf: csrfOf((await overview(leaving)).body) },
  });
  assert.equal(out.status, 303);

  // The restart: the same config, the same passphrase, a new process state.
  await g.gateway.stop();
  const again = await startGateway(
    g.config,
    { keyStorePassphrase: TEST_PASSPHRASE },
    { log: createLogger('silent') },
  );
  t.after(() => again.stop());
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const after = await overview(kept);
  assert.match(after.body, /<h1>Overblik<\/h1>/, 'still logged in after the restart');
  assert.equal(csrfOf(after.body), csrfOf(before.body), 'the same session (its CSRF token)');
  const gone = await overview(leaving);
  assert.match(gone.body, /<h1>Log ind<\/h1>/, 'the logout made before the restart holds');
});
