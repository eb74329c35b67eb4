/**
 * Routing and trust in what nodes say: the order nodes are tried per topology, failover past a
 * dead node, and reads refused when a node serves a block whose commit certificate does not verify
 * or an authority set that does not start at the trusted genesis; finality read per block from its
 * receipts, and only once they match a block whose certificate verified.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { GatewayError } from '../../gateway/errors.ts';
import { CertificateVerifier, FinalityWatcher } from '../../gateway/finality.ts';
import { NodeRouter } from '../../gateway/routing.ts';
import { anchorTx, generateKeyPair, getJson, startTestNode, waitFor } from '../helpers.ts';

const DEAD = 'http://127.0.0.1:9'; // discard port: nothing listens

test('topologies: own nodes first, then shared nodes, then the rest; local never leaves its node', () => {
  const municipalities = [
    { cvr: '29189846', nodes: ['http://a:1', 'http://a:2'] },
    { cvr: '11111111', nodes: ['http://b:1'] },
    { cvr: '22222222', nodes: [] },
  ];
  const hybrid = new NodeRouter({
    topology: 'hybrid',
    municipalities,
    sharedNodes: ['http://shared:1'],
    healthCheckIntervalMs: 1000,
  });
  assert.deepEqual(hybrid.candidates('29189846'), [
    'http://a:1',
    'http://a:2',
    'http://shared:1',
    'http://b:1',
  ]);
  assert.deepEqual(hybrid.candidates('22222222'), [
    'http://shared:1',
    'http://a:1',
    'http://a:2',
    'http://b:1',
  ]);
  const local = new NodeRouter({
    topology: 'local',
    municipalities: [{ cvr: '29189846', nodes: ['http://a:1'] }],
    sharedNodes: [],
    healthCheckIntervalMs: 1000,
  });
  assert.deepEqual(local.candidates('29189846'), ['http://a:1']);
});

test('failover: a dead node is marked down and the next one answers; reads and submissions', async (t) => {
  const { url, key, genesis } = await startTestNode(t);
  const router = new NodeRouter({
    topology: 'federated',
    municipalities: [{ cvr: '29189846', nodes: [DEAD, url] }],
    sharedNodes: [],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => router.stop());
  await router.start();
  assert.equal(router.health().find((h) => h.url === DEAD)?.healthy, false);
  assert.equal(router.status.chainId, genesis.chainId);
  // Even when the dead node is believed healthy, a call falls through to the live one.
  const optimistic = new NodeRouter({
    topology: 'federated',
    municipalities: [{ cvr: '29189846', nodes: [DEAD, url] }],
    sharedNodes: [],
    healthCheckIntervalMs: 60_000,
  });
  t.after(() => optimistic.stop());
  const status = await optimistic.get<{ chainId: string }>('29189846', '/v1/status');
  assert.equal(status?.chainId, genesis.chainId);
  assert.equal(optimistic.health().find((h) => h.url === DEAD)?.healthy, false);
  const { anchorTx } = await import('../helpers.ts');
  const hash = await router.submit('29189846', anchorTx(key, genesis.chainId));
  assert.match(hash, /^[0-9a-f]{64}$/);
  // Nothing reachable: a stable code.
  const none = new NodeRouter({
    topology: 'local',
    municipalities: [{ cvr: '29189846', nodes: [DEAD] }],
    sharedNodes: [],
    healthCheckIntervalMs: 60_000,
  });
  await assert.rejects(
    () => none.get('29189846', '/v1/status'),
    (e: unknown) => e instanceof GatewayError && e.code === 'NODE_UNAVAILABLE',
  );
});

/** A "node" that forwards to a real one but rewrites what `tamper` says for the paths it matches. */
async function lyingProxy(
  t: { after(fn: () => unknown): void },
  target: string,
  // biome-ignore lint/suspicious/noExplicitAny: the proxy edits arbitrary JSON
  tamper: (path: string, body: any) => unknown,
): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    let upstream: Response;
    let text: string;
    try {
      upstream = await fetch(`${target}${req.url}`);
      text = await upstream.text();
    } catch {
      // The node is gone (a watcher's last poll racing the test's teardown): answer as a proxy would.
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'BAD_GATEWAY', message: 'upstream unreachable' }));
      return;
    }
    let body: unknown = text;
    try {
      body = tamper(req.url ?? '', JSON.parse(text));
    } catch {}
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('reads are checked against commit certificates and the trusted genesis', async (t) => {
  const { url, genesis } = await startTestNode(t);
  await waitFor(async () => ((await getJson(`${url}/v1/status`)).height >= 2 ? true : undefined));
  const routerFor = async (nodeUrl: string) => {
    const router = new NodeRouter({
      topology: 'local',
      municipalities: [{ cvr: '29189846', nodes: [nodeUrl] }],
      sharedNodes: [],
      healthCheckIntervalMs: 60_000,
    });
    t.after(() => router.stop());
    await router.start();
    return router;
  };
  const honest = new CertificateVerifier(await routerFor(url), genesis);
  const block = await honest.certifiedBlock('29189846', 'latest');
  assert.equal(block.certificate?.signatures.length, 1);

  const forged = await lyingProxy(t, url, (path, body) => {
    if (!path.startsWith('/v1/blocks/')) return body;
    const signature = body.certificate.signatures[0].signature as string;
    body.certificate.signatures[0].signature = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);
    return body;
  });
  const lying = new CertificateVerifier(await routerFor(forged), genesis);
  await assert.rejects(
    () => lying.certifiedBlock('29189846', 'latest'),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.code === 'CHAIN_UNVERIFIED' &&
      /bad certificate signature/.test(e.message),
  );

  const impostor = generateKeyPair();
  const otherSet = await lyingProxy(t, url, (path, body) =>
    path === '/v1/authorities'
      ? {
          schedule: [
            { fromHeight: 1, authorities: [{ name: 'X', cvr: '29189846', publicKey: impostor.publicKey }] },
          ],
        }
      : body,
  );
  const wrongGenesis = new CertificateVerifier(await routerFor(otherSet), genesis);
  await assert.rejects(
    () => wrongGenesis.certifiedBlock('29189846', 'latest'),
    (e: unknown) =>
      e instanceof GatewayError && e.code === 'CHAIN_UNVERIFIED' && /trusted genesis/.test(e.message),
  );
});

test('waiting for finality reads each block once, its receipts, and trusts them only for a verified block', async (t) => {
  const { url, key, genesis } = await startTestNode(t, { blockIntervalMs: 100 });
  const watcherVia = async (tamper: (path: string, body: unknown) => unknown) => {
    const router = new NodeRouter({
      topology: 'local',
      municipalities: [{ cvr: '29189846', nodes: [await lyingProxy(t, url, tamper)] }],
      sharedNodes: [],
      healthCheckIntervalMs: 60_000,
    });
    t.after(() => router.stop());
    await router.start();
    return new FinalityWatcher(router, new CertificateVerifier(router, genesis));
  };
  const submit = async (transactions: unknown[]) => {
    const response = await fetch(`${url}/v1/transactions/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transactions }),
    });
    return ((await response.json()) as { results: { hash: string }[] }).results.map((r) => r.hash);
  };
  const paths: string[] = [];
  const watcher = await watcherVia((path, body) => {
    paths.push(path);
    return body;
  });
  const document = 'ef'.repeat(32);
  const [first] = await submit([anchorTx(key, genesis.chainId, { hash: document })]);
  const accepted = await watcher.wait('29189846', first as string, 10_000);
  assert.equal(accepted.status, 'finalized');
  const more = await submit([
    ...Array.from({ length: 8 }, () => anchorTx(key, genesis.chainId)),
    anchorTx(key, genesis.chainId, { hash: document }), // the same document again: ANCHOR_EXISTS
  ]);
  const outcomes = await Promise.all(more.map((hash) => watcher.wait('29189846', hash, 10_000)));
  const refused = outcomes.at(-1);
  assert.equal(refused?.status, 'rejected');
  assert.equal(refused?.code, 'ANCHOR_EXISTS');
  assert.ok(outcomes.slice(0, -1).every((o) => o.status === 'finalized'));
  for (const o of [accepted, ...outcomes]) {
    assert.equal(o.block?.height, o.height);
    assert.equal(o.block?.signatures, 1);
    const view = await getJson(`${url}/v1/transactions/${o.hash}`);
    assert.equal(view.index, o.index);
  }
  // No request per transaction; a block is fetched only when it holds one being waited for.
  assert.deepEqual(
    paths.filter((p) => p.startsWith('/v1/transactions/')),
    [],
  );
  const blocksFetched = paths.filter((p) => /^\/v1\/blocks\/\d+$/.test(p));
  const holding = new Set([accepted, ...outcomes].map((o) => `/v1/blocks/${o.height}`));
  assert.deepEqual(new Set(blocksFetched), holding);
  assert.equal(blocksFetched.length, holding.size);

  // Receipts that do not match the verified block settle nothing.
  const lying = await watcherVia((path, body) =>
    path.endsWith('/receipts') && typeof body === 'object' && body && 'hash' in body
      ? { ...body, hash: '00'.repeat(32) }
      : body,
  );
  const [late] = await submit([anchorTx(key, genesis.chainId)]);
  await assert.rejects(
    () => lying.wait('29189846', late as string, 1500),
    (e: unknown) => e instanceof GatewayError && e.code === 'FINALITY_TIMEOUT',
  );
});
