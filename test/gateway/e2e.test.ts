/**
 * Done when: a support system, as a new user would, gets a token from the emulated token service,
 * creates and co-signs a placement contract with a provider that authenticates by certificate,
 * the provider uploads a status report, and the municipality receives the month's payment decision
 * as an AMQP message (real RabbitMQ on loopback) and as a signed webhook — against four authority
 * processes on an accelerated business clock (one business day per block). The municipality then
 * erases the report (the chain still verifies), and its own node is killed: the gateway carries on
 * through the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import amqp from 'amqplib';
import { verifyWebhookSignature } from '../../gateway/events/webhooks.ts';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { verifyProvenRead } from '../../node/state/commitment/proven-read.ts';
import { directorPolicies } from '../fixtures/contracts.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { initLocalNetwork, type NodeProcess, startNodeProcess, stopNodeProcess, tillid } from '../process.ts';
import { CARE_HOME, privilege, startGatewayFixture } from './harness.ts';

const AMQP_URL = process.env.TILLID_TEST_AMQP_URL ?? 'amqp://127.0.0.1:5672';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first day of the month after the one after `date` (YYYY-MM-DD): room to activate first. */
function startAfter(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
}

test('placement contract end to end through the gateway, payment decision by AMQP and webhook, failover', async (t) => {
  const dir = tempDir(t, 'tillid-gateway-e2e-');
  const configs = await initLocalNetwork(join(dir, 'network'), 4, 'tillid-gateway-e2e', 17, [
    '--business-days-per-block',
    '1',
  ]);
  const nodes: NodeProcess[] = [];
  t.after(() => Promise.all(nodes.map((n) => stopNodeProcess(n, 'SIGKILL'))));
  for (const config of configs) nodes.push(await startNodeProcess(config));
  const cvrs = nodes.map((_, i) => String(29189846 + i));
  const municipality = cvrs[0] as string;

  // The webhook receiver of the municipality's economy system.
  const received: { body: string; signature: string | undefined }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ body, signature: req.headers['x-tillid-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => hook.close(() => r())));

  const run = `e2e${process.pid}${Date.now()}`;
  const exchange = `tillid.events.${run}`;
  const queuePrefix = `tillid.dueslag.${run}.`;
  const g = await startGatewayFixture<'esdh' | 'careHome'>(t, {
    municipalities: nodes.map((n, i) => ({
      cvr: cvrs[i] as string,
      nodes: [n.url],
      authority: readNodeConfigKey(configs[i] as string),
    })),
    providers: [CARE_HOME],
    register: true,
    systems: {
      esdh: { cvr: municipality, privileges: [privilege('caseworker'), privilege('director')] },
      careHome: { cvr: CARE_HOME },
    },
    config: {
      genesisFile: join(dir, 'network', 'genesis.json'),
      // With a node gone, a height whose proposer was that node waits out a round timeout.
      finalityTimeoutMs: 60_000,
      events: {
        amqp: { url: AMQP_URL, exchange, queuePrefix, receivers: [municipality] },
        pollIntervalMs: 200,
      },
    },
  });
  const broker = await amqp.connect(AMQP_URL);
  t.after(() => broker.close());
  const channel = await broker.createChannel();
  t.after(async () => {
    await channel.deleteQueue(`${queuePrefix}${municipality}`).catch(() => {});
    await channel.deleteExchange(exchange).catch(() => {});
  });

  // 1. The case system gets a token from the token service (mutual TLS, client credentials).
  const token = await g.token(g.systems.esdh);
  const esdh = { token };
  const careHome = { cert: g.systems.careHome };
  const network = await g.call('GET', '/v1/network', { as: esdh });
  assert.equal(network.status, 200, JSON.stringify(network.body));
  assert.equal(
    network.body.verifiedHead.signatures >= 3,
    true,
    'a 4-authority certificate has ≥ 3 signatures',
  );

  // 2. The economy system subscribes to payment decisions by webhook.
  const subscription = await g.call('POST', '/v1/webhooks', {
    as: esdh,
    body: {
      url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/tillid`,
      types: ['payment.released', 'payment.withheld'],
    },
  });
  assert.equal(subscription.status, 201, JSON.stringify(subscription.body));
  const secret = subscription.body.secret as string;

  // 3. Template, contract, activation by both parties.
  const template = await g.call('POST', '/v1/templates?wait=true', {
    as: esdh,
    body: {
      code: 'placement',
      releaseWithheldOnReport: true,
      approvalLifetimeDays: 60,
      policies: directorPolicies(),
    },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));
  const start = startAfter(network.body.clock.businessDate);
  const created = await g.call('POST', '/v1/contracts?wait=true', {
    as: esdh,
    body: {
      template: template.body.id,
      provider: CARE_HOME,
      start,
      // Long enough to still run at the failover step: one business day passes per block, and on a
      // busy machine the steps before it can take more than three months of blocks.
      months: 12,
      items: [
        { code: 'residence', monthly: 4_500_000 },
        { code: 'school', monthly: 1_000_000 },
      ],
      reportEveryMonths: 1,
      kle: '27.35.04',
      role: 'caseworker',
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const contract = created.body.id as string;
  const motion = await g.call('POST', `/v1/contracts/${contract}/motions?wait=true`, {
    as: esdh,
    body: { action: 'activate', role: 'caseworker' },
  });
  assert.equal(motion.status, 200, JSON.stringify(motion.body));
  const cosigned = await g.call(
    'POST',
    `/v1/contracts/${contract}/motions/${motion.body.id}/approvals?wait=true`,
    {
      as: careHome,
      body: {},
    },
  );
  assert.equal(cosigned.status, 200, JSON.stringify(cosigned.body));
  const active = await g.call('GET', `/v1/contracts/${contract}`, { as: careHome });
  assert.equal(active.body.status, 'active', JSON.stringify(active.body.motions));

  // 4. The care home uploads its status report off chain and records its commitment for period 1.
  const upload = await g.call('POST', `/v1/documents?docType=status-report&contract=${contract}`, {
    as: careHome,
    raw: { bytes: Buffer.from('Statusrapport, måned 1: trives, går i skole.'), contentType: 'text/plain' },
  });
  assert.equal(upload.status, 201, JSON.stringify(upload.body));
  const document = upload.body.commitment as string;
  const report = await waitFor(async () => {
    const r = await g.call('POST', `/v1/contracts/${contract}/reports?wait=true`, {
      as: careHome,
      body: { period: 1, document },
    });
    if (r.status === 422 && r.body.code === 'REPORT_PERIOD_INVALID') return undefined; // the month has not begun
    return r;
  }, 60_000);
  assert.equal(report.status, 200, JSON.stringify(report.body));

  // 5. The month's payment decision arrives by webhook (signed) and on the municipality's AMQP queue.
  const forContract = (body: string) => {
    const e = JSON.parse(body);
    return e.event.contract === contract && e.event.period === 1 ? e : undefined;
  };
  const released = (e: { event: { type: string } } | undefined) => e?.event.type === 'payment.released';
  const viaWebhook = await waitFor(async () => received.find((r) => released(forContract(r.body))), 60_000);
  assert.ok(verifyWebhookSignature(secret, viaWebhook.signature, viaWebhook.body));
  const decision = forContract(viaWebhook.body);
  assert.equal(decision.event.amount, 5_500_000);
  assert.deepEqual(decision.envelope.allowedReceivers, [CARE_HOME, municipality].sort());
  const viaAmqp: string[] = [];
  let amqpDecision: typeof decision;
  await waitFor(async () => {
    for (;;) {
      const message = await channel.get(`${queuePrefix}${municipality}`, { noAck: true });
      if (message === false) return viaAmqp.includes(decision.envelope.eventId) ? true : undefined;
      const e = forContract(message.content.toString());
      if (e?.event.type.startsWith('payment.')) viaAmqp.push(e.envelope.eventId);
      if (e?.envelope.eventId === decision.envelope.eventId) amqpDecision = e;
    }
  }, 30_000);
  // The gateway verified the decision against a certified block and says which: the economy
  // system can check it again itself with a proven read from any node, against the genesis alone.
  const { provenAt } = amqpDecision.envelope;
  assert.ok(provenAt.height >= decision.event.height);
  const genesis = JSON.parse(readFileSync(join(dir, 'network', 'genesis.json'), 'utf8'));
  const proven = (await (
    await fetch(
      `${(nodes[2] as NodeProcess).url}/v1/events?after=${decision.event.height - 1}&limit=1000&proof=true`,
    )
  ).json()) as { value: { events: { id: string }[] } };
  assert.ok(verifyProvenRead(genesis, proven).ok);
  assert.deepEqual(
    proven.value.events.find((e) => e.id === decision.envelope.eventId),
    amqpDecision.event,
  );
  // Every payment decision for the month reached both channels: the same events, by id.
  const webhookIds = received.map((r) => forContract(r.body)?.envelope.eventId).filter(Boolean);
  assert.deepEqual([...new Set(viaAmqp)].sort(), [...new Set(webhookIds)].sort());

  // 6. The municipality erases the report: gone off chain, while the chain still verifies.
  const erased = await g.call('DELETE', `/v1/documents/${upload.body.id}`, { as: esdh });
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  const gone = await g.call('GET', `/v1/documents/${upload.body.id}`, { as: careHome });
  assert.equal(gone.status, 410);
  assert.equal(gone.body.code, 'DOCUMENT_ERASED');
  const verified = await tillid([
    'chain',
    'verify',
    '--genesis',
    join(dir, 'network', 'genesis.json'),
    '--api',
    (nodes[1] as NodeProcess).url,
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /OK/);

  // 7. Failover: the municipality's own node dies; the gateway routes to the others.
  await stopNodeProcess(nodes[0] as NodeProcess, 'SIGKILL');
  await sleep(500);
  const afterKill = await g.call('GET', `/v1/contracts/${contract}`, { as: esdh });
  assert.equal(afterKill.status, 200, JSON.stringify(afterKill.body));
  const amend = await g.call('POST', `/v1/contracts/${contract}/motions?wait=true`, {
    as: esdh,
    body: {
      action: 'amend',
      role: 'director',
      changes: { items: [{ code: 'residence', monthly: 4_600_000 }] },
    },
  });
  assert.equal(amend.status, 200, JSON.stringify(amend.body));
  assert.ok(amend.body.block.signatures >= 3);
  // The gateway's picture of the network: the killed node down, the other three up. Health is
  // probed each second with a short timeout, so on a loaded machine one probe of a live node can
  // miss; the next one corrects it. Wait (bounded) for the picture rather than sample it once.
  type NodeHealth = { url: string; healthy: boolean; reason?: string };
  let seen: NodeHealth[] = [];
  await waitFor(async () => {
    const status = await g.call('GET', '/v1/network', { as: esdh });
    seen = status.body.nodes;
    return seen[0]?.healthy === false && seen.slice(1).every((n) => n.healthy) ? true : undefined;
  }, 30_000).catch(() => assert.fail(`killed node down, the others up: ${JSON.stringify(seen)}`));
});
