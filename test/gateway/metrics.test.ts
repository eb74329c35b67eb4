/**
 * The gateway's /metrics (gateway/metrics.ts) as an operator's Prometheus reads it: requests by
 * route and status, authentication and authorisation failures by code, submissions and finality
 * waits, node health and failovers, and no caller identity in any label.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestNode, waitFor } from '../helpers.ts';
import { MUNICIPALITY, privilege, startGatewayFixture } from './harness.ts';

/** The value of one sample, e.g. sample(text, 'x_total', { code: 'A' }); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => has[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('requests, auth failures, submissions, finality waits and node health are on /metrics', async (t) => {
  const node = await startTestNode(t, { blockIntervalMs: 50 });
  const g = await startGatewayFixture<'esdh' | 'noAgreement'>(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [node.url], authority: node.key }],
    register: true,
    systems: {
      esdh: { cvr: MUNICIPALITY, privileges: [privilege('director')] },
      noAgreement: { cvr: MUNICIPALITY, privileges: [privilege('caseworker')], services: [] },
    },
  });
  const esdh = await g.token(g.systems.esdh);
  const refused = await g.token(g.systems.noAgreement);

  assert.equal((await g.call('GET', '/v1/network')).status, 401);
  assert.equal((await g.call('GET', '/v1/network', { as: { token: 'not.a.jwt' } })).status, 401);
  assert.equal((await g.call('GET', '/v1/network', { as: { token: 'not.a.jwt' } })).status, 401);
  const outside = await g.call('GET', '/v1/network', { as: { token: refused } });
  assert.equal(outside.status, 403, JSON.stringify(outside.body));
  assert.equal((await g.call('GET', '/v1/network', { as: { token: esdh } })).status, 200);
  const template = await g.call('POST', '/v1/templates?wait=true', {
    as: { token: esdh },
    body: {
      code: 'metrics',
      policies: {
        activate: { signers: 1, party: 'municipality', role: 'caseworker' },
        amend: { signers: 1, party: 'municipality', role: 'caseworker' },
        suspend: { signers: 1, party: 'municipality', role: 'caseworker' },
        resume: { signers: 1, party: 'municipality', role: 'caseworker' },
        terminate: { signers: 1, party: 'municipality', role: 'caseworker' },
      },
      releaseWithheldOnReport: true,
      approvalLifetimeDays: 30,
    },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));

  const scrape = await g.call('GET', '/metrics');
  assert.equal(scrape.status, 200, 'metrics need no identity, like the nodes');
  const text = typeof scrape.body === 'string' ? scrape.body : JSON.stringify(scrape.body);
  assert.equal(sample(text, 'tillid_gateway_requests_total', { route: '/v1/network', status: '401' }), 3);
  assert.equal(sample(text, 'tillid_gateway_requests_total', { route: '/v1/network', status: '200' }), 1);
  assert.equal(sample(text, 'tillid_gateway_requests_total', { route: '/v1/templates', status: '200' }), 1);
  assert.equal(
    sample(text, 'tillid_gateway_auth_failures_total', { kind: 'authentication', code: 'AUTH_REQUIRED' }),
    1,
  );
  assert.equal(
    sample(text, 'tillid_gateway_auth_failures_total', { kind: 'authentication', code: 'TOKEN_INVALID' }),
    2,
  );
  assert.equal(
    sample(text, 'tillid_gateway_auth_failures_total', {
      kind: 'authorisation',
      code: outside.body.code as string,
    }),
    1,
  );
  assert.ok((sample(text, 'tillid_gateway_submissions_total', { outcome: 'admitted' }) ?? 0) >= 1);
  assert.equal(sample(text, 'tillid_gateway_finality_wait_seconds_count', { outcome: 'finalized' }), 1);
  assert.equal(sample(text, 'tillid_gateway_node_healthy', { node: node.url }), 1);
  assert.equal(sample(text, 'tillid_gateway_node_failovers_total', { node: node.url }) ?? 0, 0);
  assert.doesNotMatch(text, new RegExp(MUNICIPALITY), 'no CVR in any label');
  assert.doesNotMatch(text, new RegExp(g.systems.esdh.systemId), 'no calling system in any label');

  // The node goes away: the gateway marks it unhealthy and counts the failover.
  await node.node.stop();
  const after = await waitFor(async () => {
    const body = (await g.call('GET', '/metrics')).body;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return sample(text, 'tillid_gateway_node_healthy', { node: node.url }) === 0 ? text : undefined;
  });
  assert.equal(sample(after, 'tillid_gateway_node_failovers_total', { node: node.url }), 1);
});

test('event channels: position, lag in blocks and seconds, failures and AMQP confirms', async (t) => {
  const { default: Fastify } = await import('fastify');
  const { registerMetrics } = await import('../../gateway/metrics.ts');
  let head = 10;
  let amqp = { position: { after: 10 }, failures: 0 };
  let webhook: {
    id: string;
    position: { after: number };
    lastAttempt?: { attempt: number; status?: number; eventId: string; at: string };
  } = {
    id: 'w1',
    position: { after: 10 },
  };
  const components = {
    router: {
      health: () => [{ url: 'http://node-1:7101', healthy: true, height: head }],
      submit: async () => '',
    },
    finality: { wait: async () => ({ status: 'finalized' }) },
  };
  const app = Fastify();
  t.after(() => app.close());
  // biome-ignore lint/suspicious/noExplicitAny: only the parts the plugin reads are faked
  registerMetrics(app, components as any).watchEvents({ status: () => ({ amqp, webhooks: [webhook] }) });
  const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;

  let text = await scrape();
  assert.equal(sample(text, 'tillid_gateway_event_lag_blocks', { channel: 'amqp' }), 0);
  assert.equal(sample(text, 'tillid_gateway_event_lag_seconds', { channel: 'webhook:w1' }), 0);

  // The chain moves on; the broker confirms two heights, the webhook receiver answers 503.
  head = 15;
  amqp = { position: { after: 12 }, failures: 0 };
  webhook = {
    ...webhook,
    lastAttempt: { attempt: 3, status: 503, eventId: '14-0', at: new Date().toISOString() },
  };
  await new Promise((r) => setTimeout(r, 1100));
  text = await scrape();
  assert.equal(sample(text, 'tillid_gateway_event_position', { channel: 'amqp' }), 12);
  assert.equal(sample(text, 'tillid_gateway_event_lag_blocks', { channel: 'amqp' }), 3);
  assert.equal(sample(text, 'tillid_gateway_event_lag_blocks', { channel: 'webhook:w1' }), 5);
  const lag = sample(text, 'tillid_gateway_event_lag_seconds', { channel: 'webhook:w1' }) ?? 0;
  assert.ok(lag >= 1 && lag < 5, `lag ${lag} s: time since the channel was last at the head`);
  assert.equal(sample(text, 'tillid_gateway_event_consecutive_failures', { channel: 'webhook:w1' }), 3);
  assert.equal(sample(text, 'tillid_gateway_webhook_failed_attempts_total', { channel: 'webhook:w1' }), 1);
  assert.equal(sample(text, 'tillid_gateway_amqp_confirmed_events_total'), 2);

  // Caught up again: lag back to 0.
  amqp = { position: { after: 15 }, failures: 0 };
  text = await scrape();
  assert.equal(sample(text, 'tillid_gateway_event_lag_seconds', { channel: 'amqp' }), 0);
  assert.equal(sample(text, 'tillid_gateway_amqp_confirmed_events_total'), 5);
});
