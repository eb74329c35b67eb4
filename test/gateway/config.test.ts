/**
 * The gateway's configuration is one typed object, and a misspelt or unknown key anywhere is a
 * start-up error that names it — before this, `events.amqp.urll` silently turned AMQP off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, validateGatewayConfig } from '../../gateway/config.ts';
import { tempDir } from '../helpers.ts';

const base = {
  token: { issuer: 'https://sts.test', audience: 'urn:tillid:gateway', jwksUrl: 'https://sts.test/jwks' },
  municipalities: [{ cvr: '29189846', nodes: ['http://127.0.0.1:7101'] }],
  keyStoreDir: 'keys',
};

const refused = (raw: Record<string, unknown>, pattern: RegExp) =>
  assert.throws(
    () => validateGatewayConfig({ ...base, ...raw }, '/srv/gateway'),
    (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    `${JSON.stringify(raw)} is refused with ${pattern}`,
  );

test('config: an unknown or misspelt key anywhere is an error naming it', () => {
  refused({ events: { amqp: { urll: 'amqp://127.0.0.1' } } }, /unknown key events\.amqp\.urll/);
  refused({ events: { amqpUrl: 'amqp://127.0.0.1' } }, /unknown key events\.amqpUrl/);
  refused({ events: { pollIntervallMs: 200 } }, /unknown key events\.pollIntervallMs/);
  refused({ documents: { maxbytes: 10 } }, /unknown key documents\.maxbytes/);
  refused({ documents: { dir: 'd', masterkeyFile: 'k' } }, /unknown key documents\.masterkeyFile/);
  refused({ finalityTimeout: 100 }, /unknown key finalityTimeout\b/);
  refused({ listen: { host: '0.0.0.0', prot: 1 } }, /unknown key listen\.prot/);
  refused({ rateLimit: { max: 1, window: 1000 } }, /unknown key rateLimit\.window/);
  refused({ token: { ...base.token, jwksURL: 'https://x/jwks' } }, /unknown key token\.jwksURL/);
  refused({ tls: { certFile: 'a', keyFile: 'b', clientCAFiles: [] } }, /unknown key tls\.clientCAFiles/);
  refused(
    { municipalities: [{ cvr: '29189846', node: ['http://127.0.0.1:7101'] }] },
    /unknown key municipalities\[0\]\.node\b/,
  );
  refused(
    { agreements: [{ system: 's', service: 'contracts', cvr: '29189846', scope: 'x' }] },
    /unknown key agreements\[0\]\.scope/,
  );
  refused(
    { certificatePrivileges: [{ cvr: '12345678', privileges: [{ role: 'director', kles: [] }] }] },
    /unknown key certificatePrivileges\[0\]\.privileges\[0\]\.kles/,
  );
});

test('config: the plugin sections are typed and checked, with paths resolved', () => {
  refused({ events: { amqp: {} } }, /events\.amqp\.url must be an amqp/);
  refused({ events: { amqp: { url: 'http://broker' } } }, /events\.amqp\.url must be an amqp/);
  refused({ events: { amqp: { url: 'amqp://b', receivers: ['nope'] } } }, /events\.amqp\.receivers/);
  refused({ events: { pollIntervalMs: 'fast' } }, /events\.pollIntervalMs/);
  refused({ events: [] }, /events must be an object/);
  refused({ documents: { maxBytes: -1 } }, /documents\.maxBytes/);
  refused({ documents: { dir: 7 } }, /documents\.dir must be a path/);
  const config = validateGatewayConfig(
    {
      ...base,
      documents: { dir: 'docs', maxBytes: 1024 },
      events: {
        stateDir: 'events',
        amqp: { url: 'amqps://gw:pw@mq/', exchange: 'x', receivers: ['29189846'] },
        pollIntervalMs: 200,
      },
    },
    '/srv/gateway',
  );
  assert.deepEqual(config.documents, { dir: '/srv/gateway/docs', maxBytes: 1024 });
  assert.deepEqual(config.events, {
    stateDir: '/srv/gateway/events',
    amqp: { url: 'amqps://gw:pw@mq/', exchange: 'x', receivers: ['29189846'] },
    pollIntervalMs: 200,
  });
});

test('config: the gateway refuses to start with a misspelt key, naming it', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ ...base, events: { amqp: { urll: 'amqp://127.0.0.1:5672' } } }));
  const run = spawnSync(
    process.execPath,
    [join(import.meta.dirname, '../../gateway/main.ts'), '--config', file],
    {
      env: { ...process.env, TILLID_GATEWAY_KEYSTORE_PASSPHRASE: 'throwaway-test-passphrase' },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /unknown key events\.amqp\.urll/);
});

test('config: the access log’s retention is whole days, at least one; two years by default', () => {
  refused({ accessLogRetentionDays: 0 }, /accessLogRetentionDays must be a whole number of days ≥ 1/);
  refused({ accessLogRetentionDays: 1.5 }, /accessLogRetentionDays/);
  refused({ accessLogRetentionDays: '30' }, /accessLogRetentionDays/);
  refused({ accessLogRetentionDay: 30 }, /unknown key accessLogRetentionDay\b/);
  assert.equal(validateGatewayConfig(base, '/srv/gateway').accessLogRetentionDays, 730);
  assert.equal(
    validateGatewayConfig({ ...base, accessLogRetentionDays: 180 }, '/srv/gateway').accessLogRetentionDays,
    180,
  );
});
