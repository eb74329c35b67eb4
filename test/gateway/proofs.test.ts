/**
 * The gateway proves what it serves. A lying "node" (a proxy in front of a real node that rewrites
 * what it serves) is listed first, the honest node second: forged state, a fabricated event, an
 * omitted event and a proof at another height are all refused, counted and never passed on — the
 * reader gets the honest node's answer, or CHAIN_UNVERIFIED (502) when no node proves its answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../gateway/errors.ts';
import { envelopeOf } from '../../gateway/events/envelope.ts';
import { NodeEventFeed } from '../../gateway/events/feed.ts';
import { ProofChecker } from '../../gateway/proofs/checker.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { transactionHash } from '../../node/protocol/transaction.ts';
import { txBuilder } from '../contracts.ts';
import { anchorTx, generateKeyPair, getJson, startTestNode, waitFor } from '../helpers.ts';
import { type Loose, liar } from './liar.ts';

const CVR = '29189846';

test('a lying node among honest ones: forged reads and event pages are refused, counted and failed over', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 50 });
  const submit = async (tx: ReturnType<typeof anchorTx>) => {
    const response = await fetch(`${url}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tx),
    });
    assert.equal(response.status, 202, await response.clone().text());
    return waitFor(async () => {
      const view = await getJson(`${url}/v1/transactions/${transactionHash(tx)}`);
      return view.status === 'finalized' ? view : undefined;
    });
  };
  const b = txBuilder(genesis.chainId);
  const admin = generateKeyPair();
  const registered = await submit(
    b.registerMunicipality(key, CVR, [{ publicKey: admin.publicKey, roles: [], admin: true }]) as never,
  );
  // An answer from before the anchor existed: a valid proof, at an old height.
  const anchor = anchorTx(key, genesis.chainId);
  const stale = await getJson(`${url}/v1/anchors/${anchor.payload.hash}?proof=true`);
  assert.equal(stale.value, null);
  const anchored = await submit(anchor);
  await waitFor(async () =>
    (await getJson(`${url}/v1/status`)).height > anchored.height + 25 ? true : undefined,
  );

  const lying = await liar(t, url, (path, body) => {
    if (path.startsWith('/v1/anchors/')) {
      // Forged state: the value changed, and the proven entry with it.
      if (body.value) body.value.docType = 'payment-decision';
      for (const e of body.entries ?? []) if (e.value?.docType) e.value.docType = 'payment-decision';
    }
    if (path.startsWith('/v1/parties/')) return stale; // a proof for another read and height
    if (path.includes('/receipts')) body.value.receipts[0].code = 'ANCHOR_EXISTS';
    return body;
  });
  const warnings: string[] = [];
  const log = { warn: (o: { problem: string }) => warnings.push(o.problem) };
  const checker = new ProofChecker(genesis, { log: log as never });
  const router = new NodeRouter({
    topology: 'central',
    municipalities: [{ cvr: CVR, nodes: [] }],
    sharedNodes: [lying, url],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  router.requireProofs(checker);

  const read = await router.get<Loose>(CVR, `/v1/anchors/${anchor.payload.hash}`);
  assert.equal(read.docType, 'status-report', 'the honest answer, not the forged one');
  assert.equal(read.txHash, transactionHash(anchor));
  assert.ok(read.provenAt.height >= anchored.height);
  assert.equal(await checker.unverifiedCount(), 1);
  assert.equal(router.health().find((h) => h.url === lying)?.healthy, false);

  await router.checkAll(); // the liar answers its health check: it is tried first again
  const party = await router.get<Loose>(CVR, `/v1/parties/${CVR}`);
  assert.equal(party.cvr, CVR);
  await router.checkAll();
  const receipts = await router.get<Loose>(CVR, `/v1/blocks/${registered.height}/receipts`);
  assert.equal(receipts.receipts[0].code, 'OK');
  assert.equal(await checker.unverifiedCount(), 3);
  assert.match(warnings[0] as string, /does not lead to the state root/);
  assert.match(warnings[1] as string, /answers another read/);
  assert.match(warnings[2] as string, /the value is not what the proven state says/);

  // A proof at an old height from an honest node is refused too once the gateway has seen newer.
  const staleAnchor = await liar(t, url, (path, body) =>
    path.startsWith('/v1/anchors/') ? { ...stale, read: body.read } : body,
  );
  const only = new NodeRouter({
    topology: 'local',
    municipalities: [{ cvr: CVR, nodes: [staleAnchor] }],
    sharedNodes: [],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => only.stop());
  await only.start();
  only.requireProofs(checker);
  await assert.rejects(
    () => only.get(CVR, `/v1/anchors/${anchor.payload.hash}`),
    (e: unknown) => e instanceof GatewayError && e.code === 'CHAIN_UNVERIFIED',
  );
  assert.match(warnings[3] as string, /behind the verified height/);

  // Events: a fabricated payment event, and an omitted one, from the liar; the honest page wins.
  const fabricating = await liar(t, url, (_path, body) => {
    body.value?.events?.push({
      id: `${body.value.next}-9`,
      height: body.value.next,
      type: 'payment.released',
      municipality: CVR,
      amount: 1,
    });
    return body;
  });
  const omitting = await liar(t, url, (_path, body) => {
    body.value?.events?.shift();
    return body;
  });
  const feed = new NodeEventFeed({ nodeUrls: [fabricating, omitting, url], proofs: checker, limit: 100 });
  const page = await feed.page(0);
  assert.deepEqual(
    page.events.map((e) => e.type),
    ['party.registered'],
  );
  const envelope = envelopeOf(page.events[0] as never, genesis.chainId);
  assert.equal(envelope.envelope.height, registered.height);
  assert.ok(envelope.envelope.provenAt && envelope.envelope.provenAt.height >= registered.height);
  assert.match(envelope.envelope.provenAt.blockHash, /^[0-9a-f]{64}$/);
  const block = await getJson(`${url}/v1/blocks/${envelope.envelope.provenAt.height}`);
  assert.equal(block.hash, envelope.envelope.provenAt.blockHash);
  const liars = new NodeEventFeed({ nodeUrls: [fabricating, omitting], proofs: checker });
  await assert.rejects(() => liars.page(0), /does not verify/);
});
