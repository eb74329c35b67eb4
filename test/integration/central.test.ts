/**
 * The `central` topology in containers: four centrally run authority nodes, and the municipalities
 * with no nodes of their own, reaching the chain only through the gateway (its `sharedNodes`). A
 * case system gets a token from the token-service emulator over mutual TLS, a provider calls with
 * its certificate, and every domain call is submitted through the gateway with `?wait=true`. Then
 * the gateway's first shared node is killed and the gateway still gets submissions finalized
 * through the other three. Needs a reachable Docker engine, like network.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { directorPolicies } from '../fixtures/contracts.ts';
import { Cluster, waitUntil } from './cluster.ts';
import { type Answer, ClusterGateway } from './gateway.ts';

const PROVIDER = '12345678'; // the demo provider deploy/gateway-init.ts registers

/** The first day of the month after the one after `date` (YYYY-MM-DD): room to activate first. */
function startAfter(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
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

describe('central: four authority nodes, municipalities through the gateway', { timeout: 300_000 }, () => {
  let c: Cluster;
  let g: ClusterGateway;
  let startFailure: unknown;
  let esdh: { token: string };
  const provider = { cert: 'provider' as const };

  before(
    async () => {
      try {
        c = await Cluster.start({ authorities: 4 });
        g = await ClusterGateway.start(c, 'central');
      } catch (e) {
        startFailure = e;
      }
    },
    { timeout: 300_000 },
  );
  after(() => c?.stop());

  test('a token over mutual TLS; template, contract and its activation by both parties, final on all four nodes', async () => {
    if (startFailure) throw startFailure;
    const ids = c.authorities.map((n) => n.id);
    esdh = { token: await g.token() };

    const network = await g.call('GET', '/v1/network', { as: esdh });
    assert.equal(network.status, 200, JSON.stringify(network.body));
    assert.ok(network.body.verifiedHead.signatures >= 3, JSON.stringify(network.body.verifiedHead));

    const defined = await g.call('POST', '/v1/templates?wait=true', {
      as: esdh,
      body: { code: 'placement', releaseWithheldOnReport: true, approvalLifetimeDays: 60, policies },
    });
    const created = assertFinal('template', defined);
    const template = defined.body.id as string;
    const contract = await g.call('POST', '/v1/contracts?wait=true', {
      as: esdh,
      body: {
        template,
        provider: PROVIDER,
        start: startAfter(network.body.clock?.businessDate ?? new Date().toISOString().slice(0, 10)),
        months: 3,
        items: [{ code: 'residence', monthly: 4_500_000 }],
        reportEveryMonths: 1,
        kle: '27.35.04',
        role: 'caseworker',
      },
    });
    const drafted = assertFinal('contract', contract);
    const id = contract.body.id as string;
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

    await assertFinalOn(c, [created, drafted, proposed, approved], ids);
    await assertSameHead(c, ids);
  });

  test("docker kill the gateway's first shared node: submissions are still finalized through the other three", async () => {
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
