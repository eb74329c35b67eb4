/**
 * The `central` topology in containers: four centrally run authority nodes and one more shared
 * node (an observer), and a municipality with no node of its own that reaches the chain only through
 * the gateway (its `sharedNodes`). A case system gets a token from the token-service emulator over
 * mutual TLS, a provider calls with its certificate, and every domain call is submitted through the
 * gateway with `?wait=true`.
 *
 * Then the observer lies: its host is taken over and its store forged (forged-store.ts) — the
 * contract suspended, a payment decision that was never made, in the month's payment list and as
 * an event, and the activation event cut from its block's events. It is the first shared node the
 * gateway asks. The node-less municipality's economy
 * system still receives the month's true payment decision by AMQP (the host's RabbitMQ), webhook and
 * SSE, with where it was proven, and re-checks it offline against the genesis alone; its HTTP reads
 * are the true ones; the gateway counts the liar. Last, the first authority is killed and the
 * gateway still gets submissions finalized through the other three — with the liar still first in
 * its list. Needs a reachable Docker engine, like network.test.ts, and RabbitMQ on loopback.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChannelModel } from 'amqplib';
import { verifyWebhookSignature } from '../../gateway/events/webhooks.ts';
import { blockHash, certificateProblem, decodeBlock } from '../../node/protocol/block.ts';
import { verifyProvenRead } from '../../node/state/commitment/proven-read.ts';
import { directorPolicies } from '../fixtures/contracts.ts';
import { tillid } from '../fixtures/processes.ts';
import { connectBroker, consume, type Received } from '../gateway/events-harness.ts';
import { Cluster, type Json, waitUntil } from './cluster.ts';
import { forgeHeadState } from './forged-store.ts';
import { type Answer, ClusterGateway } from './gateway.ts';
import { controlHostAddress, webhookReceiver } from './host-side.ts';

const PROVIDER = '12345678'; // the demo provider deploy/gateway-init.ts registers
/** A municipality that runs no node (the four authorities are 29189846–49). */
const NODELESS = { name: 'Kommune 05', cvr: '29189850' };
/** The shared node whose store is forged; first in the gateway's list, so it is always asked. */
const LIAR = 'observer-1';
const MONTHLY = 4_500_000;
const FORGED_AMOUNT = 99_000_000;

/** The first day of the month after the one after `date` (YYYY-MM-DD): room to activate first. */
function startAfter(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
}

/** `YYYY-MM` of the month after `date`'s: when the first month's payment is decided. */
function monthAfter(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
}

const policies = directorPolicies();

/** A `?wait=true` answer: final, in a block whose certificate the gateway verified. */
function assertFinal(what: string, a: Answer): { hash: string; height: number; block: string } {
  assert.equal(a.status, 200, `${what}: ${a.status} ${JSON.stringify(a.body)}`);
  assert.equal(a.body.status, 'finalized', `${what}: ${JSON.stringify(a.body)}`);
  assert.ok(a.body.block.signatures >= 3, `${what}: a 4-authority certificate has ≥ 3 signatures`);
  return { hash: a.body.hash, height: a.body.height, block: a.body.block.hash };
}

/** Every transaction reads `finalized`, at the same height, on every node in `ids`. */
async function assertFinalOn(
  c: Cluster,
  txs: readonly { hash: string; height: number; block: string }[],
  ids: string[],
): Promise<void> {
  const top = Math.max(...txs.map((t) => t.height));
  await c.waitForHeight(top, ids, 30_000);
  for (const id of ids)
    for (const tx of txs) {
      const view = await c.get(id, `/v1/transactions/${tx.hash}`);
      assert.equal(view?.status, 'finalized', `${tx.hash} on ${id}: ${JSON.stringify(view)}`);
      assert.equal(view.height, tx.height, `${tx.hash} on ${id}`);
      const block = await c.get(id, `/v1/blocks/${tx.height}`);
      assert.equal(block.certificate.blockHash, tx.block, `block ${tx.height} on ${id}`);
    }
}

/** The block at the lowest finalized height of `ids` is one block: same hash, same state root. */
async function assertSameHead(c: Cluster, ids: string[]): Promise<void> {
  const heights = await c.heights(ids);
  const h = Math.min(...heights.map((x) => x ?? 0));
  const blocks = await Promise.all(ids.map((id) => c.get(id, `/v1/blocks/${h}`)));
  const seen = blocks.map((b, i) => `${ids[i]}: ${b?.certificate?.blockHash} ${b?.header?.stateRoot}`);
  assert.ok(
    blocks.every((b) => b?.certificate?.blockHash),
    `height ${h} not final everywhere:\n${seen.join('\n')}`,
  );
  assert.equal(new Set(blocks.map((b) => b.certificate.blockHash)).size, 1, seen.join('\n'));
  assert.equal(new Set(blocks.map((b) => b.header.stateRoot)).size, 1, seen.join('\n'));
}

describe('central: shared nodes, one of them lying; a municipality without a node through the gateway', {
  timeout: 600_000,
}, () => {
  let c: Cluster;
  let g: ClusterGateway;
  let broker: ChannelModel | undefined;
  let startFailure: unknown;
  let esdh: { token: string };
  let contract: string;
  let start: string;
  const provider = { cert: 'provider' as const };
  const run = `central${process.pid}${Date.now()}`;
  const exchange = `tillid.events.${run}`;
  const queuePrefix = `tillid.dueslag.${run}.`;

  // Setup builds stale images, starts five nodes and registers five municipalities: minutes when
  // the machine is shared (it took over 300 s at load average 50).
  before(
    async () => {
      try {
        // One business day per block: the first month's payment is decided a minute or two in.
        c = await Cluster.start({ authorities: 4, observers: 1, businessDaysPerBlock: 1 });
        g = await ClusterGateway.start(c, 'central', {
          nodeless: [NODELESS],
          sharedNodes: [LIAR, ...c.authorities.map((n) => n.id)],
          amqp: { exchange, queuePrefix, receivers: [NODELESS.cvr] },
        });
        broker = await connectBroker();
      } catch (e) {
        startFailure = e;
      }
    },
    { timeout: 420_000 },
  );
  after(async () => {
    if (broker) {
      const channel = await broker.createChannel();
      await channel.deleteQueue(`${queuePrefix}${NODELESS.cvr}`).catch(() => {});
      await channel.deleteExchange(exchange).catch(() => {});
      await broker.close().catch(() => {});
    }
    g?.stop();
    await c?.stop();
  });

  test('a token over mutual TLS for a municipality without a node; template, contract and its activation by both parties, final on all four authorities', async () => {
    if (startFailure) throw startFailure;
    const ids = c.authorities.map((n) => n.id);
    esdh = { token: await g.token(NODELESS.cvr) };

    const network = await g.call('GET', '/v1/network', { as: esdh });
    assert.equal(network.status, 200, JSON.stringify(network.body));
    assert.ok(network.body.verifiedHead.signatures >= 3, JSON.stringify(network.body.verifiedHead));

    const defined = await g.call('POST', '/v1/templates?wait=true', {
      as: esdh,
      body: { code: 'placement', releaseWithheldOnReport: true, approvalLifetimeDays: 60, policies },
    });
    const templated = assertFinal('template', defined);
    const template = defined.body.id as string;
    start = startAfter(network.body.clock?.businessDate ?? new Date().toISOString().slice(0, 10));
    const created = await g.call('POST', '/v1/contracts?wait=true', {
      as: esdh,
      body: {
        template,
        provider: PROVIDER,
        start,
        months: 12,
        items: [{ code: 'residence', monthly: MONTHLY }],
        reportEveryMonths: 0,
        kle: '27.35.04',
        role: 'caseworker',
      },
    });
    const drafted = assertFinal('contract', created);
    const id = created.body.id as string;
    contract = id;
    const motion = await g.call('POST', `/v1/contracts/${id}/motions?wait=true`, {
      as: esdh,
      body: { action: 'activate', role: 'caseworker' },
    });
    const proposed = assertFinal('motion', motion);
    const approved = assertFinal(
      'approval',
      await g.call('POST', `/v1/contracts/${id}/motions/${motion.body.id}/approvals?wait=true`, {
        as: provider,
        body: {},
      }),
    );
    const active = await g.call('GET', `/v1/contracts/${id}`, { as: provider });
    assert.equal(active.status, 200, JSON.stringify(active.body));
    assert.equal(active.body.status, 'active', JSON.stringify(active.body));

    await assertFinalOn(c, [templated, drafted, proposed, approved], ids);
    await assertSameHead(c, ids);
  });

  test('a shared node with a forged store changes nothing the municipality without a node receives: the true payment decision by AMQP, webhook and SSE, proven; true HTTP reads; the liar counted', async () => {
    if (startFailure) throw startFailure;
    const genesisFile = join(c.node('node-1').dir, 'genesis.json');
    const genesis = JSON.parse(readFileSync(genesisFile, 'utf8'));
    const month = monthAfter(start);
    const isOurs = (m: Json) => m?.event?.contract === contract;

    // The municipality's economy system: an AMQP queue, a webhook and an SSE stream.
    const amqpReceived: Received[] = [];
    const stopConsuming = await consume(
      broker as ChannelModel,
      `${queuePrefix}${NODELESS.cvr}`,
      amqpReceived,
    );
    const hook = await webhookReceiver(await controlHostAddress(c.ctlNetwork));
    const sse: Json[] = [];
    let stream: { close: () => void } | undefined;
    try {
      const subscription = await g.call('POST', '/v1/webhooks', {
        as: esdh,
        body: { url: hook.url, types: ['payment.released', 'payment.withheld'] },
      });
      assert.equal(subscription.status, 201, JSON.stringify(subscription.body));
      stream = await g.stream(esdh, sse, 0);

      // The liar is an observer and follows the authorities a moment behind: it must hold the
      // activation and a block after it before the attacker stops it (the forgery cuts the
      // activation event from an earlier block and adds a decision at the head).
      const certified = Math.max(...(await c.heights(c.authorities.map((n) => n.id))).map((h) => h ?? 0));
      await waitUntil(
        async () => (((await c.heights([LIAR]))[0] ?? 0) > certified ? true : undefined),
        60_000,
        `${LIAR} to follow past height ${certified}`,
      );
      // The attacker stops the node, forges its store and starts it again (the same image).
      await c.kill(LIAR);
      let fabricatedId = '';
      let omittedId = '';
      const forgery = await forgeHeadState(join(c.node(LIAR).dir, 'data'), (get, head) => {
        const record = get(`contract/${contract}`) as Record<string, Json>;
        assert.equal(record?.status, 'active', 'the forgery starts from the activated contract');
        // The activation event (the contract's last) is cut from its block's list of events.
        omittedId = get(`contract/${contract}/t/${(record.timeline as number) - 1}`) as string;
        const [at, index] = omittedId.split('-').map(Number) as [number, number];
        assert.ok(at < head.height, `activated at ${at}, forged at ${head.height}`);
        const n = (get(`event/${head.height}`) as number | undefined) ?? 0;
        fabricatedId = `${head.height}-${n}`;
        const due = `${month}-01`;
        const decided = { period: 1, due, amount: FORGED_AMOUNT, reason: 'conditions-met' };
        const payments = `payment/${NODELESS.cvr}/${month}`;
        const m = (get(payments) as number | undefined) ?? 0;
        return new Map<string, Json>([
          [`contract/${contract}`, { ...record, status: 'suspended' }],
          [
            `event/${head.height}/${n}`,
            {
              contract,
              municipality: NODELESS.cvr,
              provider: PROVIDER,
              kle: '27.35.04',
              on: due,
              ...decided,
              id: fabricatedId,
              height: head.height,
              type: 'payment.released',
            },
          ],
          [`event/${head.height}`, n + 1],
          [
            `${payments}/${m}`,
            { contract, provider: PROVIDER, kind: 'release', event: fabricatedId, ...decided },
          ],
          [payments, m + 1],
          [`event/${at}`, index],
        ]);
      });
      await c.startAgain(LIAR);
      // It really lies, with a proof: the forged contract and the invented decision, at the forged head.
      const lie = await c.get(LIAR, `/v1/contracts/${contract}`);
      assert.equal(lie?.status, 'suspended', JSON.stringify(lie));
      const forgedPage = await c.get(LIAR, `/v1/events?after=${forgery.height - 1}&limit=1000&proof=true`);
      assert.ok(
        forgedPage.value.events.some((e: Json) => e.id === fabricatedId && e.amount === FORGED_AMOUNT),
        JSON.stringify(forgedPage.value),
      );
      assert.equal(forgedPage.height, forgery.height);
      const omittedAt = Number(omittedId.split('-')[0]);
      const shortPage = await c.get(LIAR, `/v1/events?after=${omittedAt - 1}&limit=1000&proof=true`);
      assert.ok(!shortPage.value.events.some((e: Json) => e.id === omittedId), `${omittedId} omitted`);
      // ... which an economy system holding only the genesis refuses, as the gateway must.
      assert.equal(verifyProvenRead(genesis, forgedPage).ok, false);

      // The month's true payment decision reaches the municipality's queue, proven.
      const viaAmqp = await waitUntil(
        async () =>
          amqpReceived
            .map((r) => JSON.parse(r.body))
            .find(
              (m) =>
                isOurs(m) &&
                m.event.type.startsWith('payment.') &&
                m.event.period === 1 &&
                m.event.id !== fabricatedId,
            ),
        300_000,
        'the payment decision on the AMQP queue of the municipality without a node',
      );
      assert.equal(viaAmqp.event.type, 'payment.released', JSON.stringify(viaAmqp));
      assert.equal(viaAmqp.event.amount, MONTHLY);
      assert.equal(viaAmqp.event.municipality, NODELESS.cvr);
      assert.ok(viaAmqp.envelope.allowedReceivers.includes(NODELESS.cvr));
      const { provenAt } = viaAmqp.envelope;
      assert.ok(provenAt && provenAt.height >= viaAmqp.event.height, JSON.stringify(viaAmqp.envelope));

      // The economy system checks it again itself, offline, against the genesis alone: a proven
      // page of events saved from any node, with `tillid proof verify`; and the block it was proven
      // at is the certified one the envelope names.
      const proven = await c.get(
        'node-3',
        `/v1/events?after=${viaAmqp.event.height - 1}&limit=1000&proof=true`,
      );
      const file = join(c.dir, 'payment-decision.proof.json');
      writeFileSync(file, JSON.stringify(proven));
      const verified = await tillid(['proof', 'verify', '--genesis', genesisFile, '--file', file]);
      assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`);
      assert.match(verified.stdout, /^OK: events read/);
      assert.deepEqual(
        proven.value.events.find((e: Json) => e.id === viaAmqp.event.id),
        viaAmqp.event,
      );
      const at = decodeBlock(await c.get('node-3', `/v1/blocks/${provenAt.height}`));
      assert.equal(blockHash(at.header), provenAt.blockHash);
      const authorities = genesis.authorities.map((a: Json) => a.publicKey);
      assert.equal(certificateProblem(at.certificate, at.header, authorities), undefined);

      // The same decision by webhook (signed) and SSE.
      const viaHook = await waitUntil(
        async () =>
          hook.received.find((r) => {
            const m = JSON.parse(r.body);
            return isOurs(m) && m.event.id === viaAmqp.event.id;
          }),
        60_000,
        'the payment decision by webhook',
      );
      assert.ok(verifyWebhookSignature(subscription.body.secret, viaHook.signature, viaHook.body));
      await waitUntil(
        async () => sse.find((m) => isOurs(m) && m.event.id === viaAmqp.event.id),
        60_000,
        'the payment decision on the SSE stream',
      );

      // An HTTP reader gets the truth, with where it was proven.
      const read = await g.call('GET', `/v1/contracts/${contract}`, { as: esdh });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.status, 'active');
      assert.ok(read.body.provenAt?.height >= forgery.height, JSON.stringify(read.body.provenAt));
      // The list view too: the liar's list names the contract as suspended, and is refused.
      const list = await g.call('GET', '/v1/contracts', { as: esdh });
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.equal(list.body.contracts.find((c: Json) => c.id === contract)?.status, 'active');
      assert.ok(list.body.provenAt, "a party's contracts are a proven read");
      const payments = await g.call('GET', `/v1/payments?month=${month}`, { as: esdh });
      assert.equal(payments.status, 200, JSON.stringify(payments.body));
      assert.deepEqual(
        payments.body.decisions.map((d: Json) => [d.contract, d.kind, d.amount, d.event]),
        [[contract, 'release', MONTHLY, viaAmqp.event.id]],
      );
      assert.ok(payments.body.provenAt, 'the month of payments is a proven read');

      // Nothing false anywhere: every event delivered on any channel is the one the honest nodes
      // prove, and the invented decision never arrived.
      await new Promise((r) => setTimeout(r, 1000));
      const truth = await c.get('node-2', `/v1/events?after=0&limit=1000&proof=true`);
      assert.ok(verifyProvenRead(genesis, truth).ok);
      const honest = new Map<string, Json>(truth.value.events.map((e: Json) => [e.id, e]));
      const delivered: [string, Json][] = [
        ...amqpReceived.map((r) => ['amqp', JSON.parse(r.body)] as [string, Json]),
        ...hook.received.map((r) => ['webhook', JSON.parse(r.body)] as [string, Json]),
        ...sse.map((m) => ['sse', m] as [string, Json]),
      ];
      for (const [channel, m] of delivered) {
        assert.notEqual(m.event.amount, FORGED_AMOUNT, `${channel}: ${JSON.stringify(m)}`);
        // Events past the page (the chain moves on) are checked only for the forged amount.
        if (m.event.height <= truth.value.next)
          assert.deepEqual(
            m.event,
            honest.get(m.event.id),
            `${channel} delivered an event the chain does not hold`,
          );
      }
      assert.ok(honest.has(omittedId), `the honest page holds ${omittedId}, which the liar omits`);
      assert.ok(
        sse.some((m) => m.event.id === omittedId),
        `the omitted ${omittedId} reached the stream`,
      );
      for (const channel of ['amqp', 'webhook', 'sse'])
        assert.ok(
          delivered.some(([ch, m]) => ch === channel && isOurs(m)),
          `nothing of the contract by ${channel}`,
        );

      // The gateway counted the liar, and only the liar.
      const metrics = await g.call('GET', '/metrics');
      assert.equal(metrics.status, 200);
      const counted = [
        ...String(metrics.body).matchAll(
          /^tillid_gateway_unverified_answers_total\{node="([^"]+)"\} (\d+)/gm,
        ),
      ];
      const byNode = new Map(counted.map((m) => [m[1], Number(m[2])]));
      assert.ok((byNode.get(`http://${LIAR}:7101`) ?? 0) >= 1, String(metrics.body).slice(0, 4000));
      for (const [node, n] of byNode)
        if (node !== `http://${LIAR}:7101`) assert.equal(n, 0, `${node} counted`);
    } finally {
      stream?.close();
      hook.close();
      await stopConsuming();
    }
  });

  test('docker kill the first authority: submissions are still finalized through the other three, the liar still first in the gateway’s list', async () => {
    if (startFailure) throw startFailure;
    await c.kill('node-1');
    const live = ['node-2', 'node-3', 'node-4'];
    const submitted: { hash: string; height: number; block: string }[] = [];
    for (let i = 1; i <= 3; i++) {
      const answer = await g.call('POST', '/v1/templates?wait=true', {
        as: esdh,
        body: { code: `placement-${i}`, releaseWithheldOnReport: false, approvalLifetimeDays: 30, policies },
      });
      submitted.push(assertFinal(`template ${i} with node-1 down`, answer));
    }
    // The gateway answers from its own view too: its verified head is past node-1's last block.
    const network = await waitUntil(
      async () => {
        const n = await g.call('GET', '/v1/network', { as: esdh });
        return n.status === 200 ? n : undefined;
      },
      10_000,
      'GET /v1/network with node-1 down',
    );
    assert.ok(network.body.verifiedHead.height >= Math.max(...submitted.map((s) => s.height)));
    await assertFinalOn(c, submitted, live);
    await assertSameHead(c, live);
  });
});
