/**
 * Console sessions across a gateway restart (gateway/console/session.ts, session-file.ts): over
 * real HTTP requests to fastify, a session started before a "restart" (a new Sessions over the
 * same file, as a restarted gateway makes) is still the person's after it; a logout before the
 * restart stays a logout; the file holds neither the cookie's token nor the person in clear; a
 * file under another passphrase or tampered with is not used; idle sessions expire across restarts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { Person } from '../../../gateway/console/oidc.ts';
import { Sessions } from '../../../gateway/console/session.ts';
import { tempDir } from '../../fixtures/node.ts';

const PERSON: Person = {
  sub: 'sub-sagsbehandler-1',
  name: 'Sara Sagsbehandler',
  cvr: '29189846',
  privileges: [{ role: 'caseworker', kle: ['27.*'] }],
} as Person;

/** A gateway's use of sessions, in miniature: log in, who am I, log out. */
async function server(sessions: Sessions) {
  const app = Fastify();
  app.post('/login', async (_request, reply) => {
    sessions.start(reply, PERSON);
    return { ok: true };
  });
  app.get('/me', async (request, reply) => {
    const s = sessions.of(request);
    return s
      ? { name: s.person.name, csrf: s.csrf, kle: s.person.privileges[0]?.kle }
      : reply.code(401).send({});
  });
  app.post('/logout', async (request, reply) => {
    sessions.end(request, reply);
    return { ok: true };
  });
  await app.ready();
  return app;
}

const cookieOf = (setCookie: string | string[] | undefined) =>
  (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0] as string;

test('a session survives a restart; a logout before it stays one; the file reveals nothing', async (t) => {
  const dir = tempDir(t, 'tillid-console-sessions-');
  const file = { path: join(dir, 'sessions.json'), passphrase: 'throwaway-passphrase' };
  const before = await server(new Sessions(30, undefined, file));
  const login = await before.inject({ method: 'POST', url: '/login' });
  const cookie = cookieOf(login.headers['set-cookie']);
  const other = cookieOf((await before.inject({ method: 'POST', url: '/login' })).headers['set-cookie']);
  const me = (await before.inject({ url: '/me', headers: { cookie } })).json();
  assert.equal(me.name, PERSON.name);
  assert.equal(
    (await before.inject({ method: 'POST', url: '/logout', headers: { cookie: other } })).statusCode,
    200,
  );
  await before.close();

  const onDisk = readFileSync(file.path, 'utf8');
  const token = cookie.split('=')[1] as string;
  for (const secret of [token, PERSON.name, PERSON.sub, me.csrf])
    assert.ok(!onDisk.includes(secret), 'the file holds no token, person or CSRF token in clear');

  // The restarted gateway: same file, same passphrase.
  const after = await server(new Sessions(30, undefined, file));
  t.after(() => after.close());
  const again = await after.inject({ url: '/me', headers: { cookie } });
  assert.equal(again.statusCode, 200, 'still logged in');
  assert.deepEqual(again.json(), me, 'the same person, privileges (KLE) and CSRF token');
  assert.equal(
    (await after.inject({ url: '/me', headers: { cookie: other } })).statusCode,
    401,
    'logged out stays out',
  );
  // A forged cookie (the file's key, say) is no session.
  assert.equal(
    (await after.inject({ url: '/me', headers: { cookie: `__Host-tillid-konsol=${'a'.repeat(43)}` } }))
      .statusCode,
    401,
  );

  // Another passphrase, or a tampered file: not used, everyone logs in again.
  const wrong = new Sessions(30, undefined, { ...file, passphrase: 'another-passphrase' });
  assert.equal(wrong.fileUnreadable, true);
  const wrongServer = await server(wrong);
  t.after(() => wrongServer.close());
  assert.equal((await wrongServer.inject({ url: '/me', headers: { cookie } })).statusCode, 401);
  const envelope = JSON.parse(readFileSync(file.path, 'utf8'));
  const data = Buffer.from(envelope.data, 'base64');
  data[0] = (data[0] as number) ^ 1;
  writeFileSync(file.path, JSON.stringify({ ...envelope, data: data.toString('base64') }));
  const tampered = new Sessions(30, undefined, file);
  assert.equal(tampered.fileUnreadable, true);
  const tamperedServer = await server(tampered);
  t.after(() => tamperedServer.close());
  assert.equal((await tamperedServer.inject({ url: '/me', headers: { cookie } })).statusCode, 401);
});

test('an idle session expires across a restart too', async (t) => {
  const dir = tempDir(t, 'tillid-console-sessions-');
  const file = { path: join(dir, 'sessions.json'), passphrase: 'throwaway-passphrase' };
  // 0.002 minutes: 120 ms of idleness ends a session.
  const before = await server(new Sessions(0.002, undefined, file));
  const cookie = cookieOf((await before.inject({ method: 'POST', url: '/login' })).headers['set-cookie']);
  await before.close();
  const started = Date.now();
  // Wait (bounded) until the idle time has surely passed, then restart.
  while (Date.now() - started < 200) await new Promise((r) => setTimeout(r, 20));
  const after = await server(new Sessions(0.002, undefined, file));
  t.after(() => after.close());
  assert.equal((await after.inject({ url: '/me', headers: { cookie } })).statusCode, 401);
});
