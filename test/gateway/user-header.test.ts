/**
 * `x-tillid-user` — what makes two people of one calling system two approvers — is in the OpenAPI
 * document on every route that takes it, and a second approval without it is refused with
 * APPROVAL_EXISTS whose message says to send it. Against a real node and gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestNode } from '../helpers.ts';
import { CARE_HOME, MUNICIPALITY, privilege, startGatewayFixture } from './harness.ts';

/** Routes that act for a person, and so take `x-tillid-user`; and some that do not. */
const TAKES_USER = [
  '/v1/templates',
  '/v1/contracts',
  '/v1/contracts/{id}/motions',
  '/v1/contracts/{id}/motions/{motion}/approvals',
  '/v1/contracts/{id}/reports',
];

const twoChiefs = {
  activate: { signers: 2, party: 'municipality', role: 'centre-chief' },
  amend: { signers: 1, party: 'municipality', role: 'director' },
  suspend: { signers: 1, party: 'municipality', role: 'director' },
  resume: { signers: 1, party: 'municipality', role: 'director' },
  terminate: { signers: 1, party: 'municipality', role: 'director' },
};

test('x-tillid-user is documented in OpenAPI, and APPROVAL_EXISTS says to send it', async (t) => {
  const { url: nodeUrl, key } = await startTestNode(t, { blockIntervalMs: 50 });
  const g = await startGatewayFixture<'director' | 'esdh' | 'chiefs'>(t, {
    municipalities: [{ cvr: MUNICIPALITY, nodes: [nodeUrl], authority: key }],
    register: true,
    systems: {
      director: { cvr: MUNICIPALITY, privileges: [privilege('director')] },
      esdh: { cvr: MUNICIPALITY, privileges: [privilege('caseworker')] },
      chiefs: { cvr: MUNICIPALITY, privileges: [privilege('centre-chief')] },
    },
  });

  const docs = await g.call('GET', '/docs/json');
  assert.equal(docs.status, 200);
  for (const path of TAKES_USER) {
    const parameters = (docs.body.paths[path]?.post?.parameters ?? []) as {
      in: string;
      name: string;
      description?: string;
    }[];
    const user = parameters.find((p) => p.in === 'header' && p.name === 'x-tillid-user');
    assert.ok(user, `POST ${path} documents x-tillid-user`);
    assert.match(user.description ?? '', /APPROVAL_EXISTS/);
  }
  for (const [path, method] of [
    ['/v1/providers', 'post'],
    ['/v1/contracts', 'get'],
  ] as const) {
    const parameters = (docs.body.paths[path]?.[method]?.parameters ?? []) as { name: string }[];
    assert.ok(!parameters.some((p) => p.name === 'x-tillid-user'), `${method} ${path} takes no user`);
  }

  const director = { token: await g.token(g.systems.director) };
  const esdh = { token: await g.token(g.systems.esdh) };
  const chiefs = { token: await g.token(g.systems.chiefs) };
  const template = await g.call('POST', '/v1/templates?wait=true', {
    as: director,
    body: {
      code: 'two-chiefs',
      policies: twoChiefs,
      releaseWithheldOnReport: true,
      approvalLifetimeDays: 30,
    },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));
  const d = new Date();
  const start = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
  const created = await g.call('POST', '/v1/contracts?wait=true', {
    as: esdh,
    body: {
      template: template.body.id,
      provider: CARE_HOME,
      start,
      months: 6,
      items: [{ code: 'residence', monthly: 1_000_000 }],
      reportEveryMonths: 0,
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const contract = created.body.id as string;
  const motion = await g.call('POST', `/v1/contracts/${contract}/motions?wait=true`, {
    as: esdh,
    body: { action: 'activate' },
  });
  assert.equal(motion.status, 200, JSON.stringify(motion.body));
  const approve = (headers: Record<string, string> = {}) =>
    g.call('POST', `/v1/contracts/${contract}/motions/${motion.body.id}/approvals?wait=true`, {
      as: chiefs,
      headers,
      body: { role: 'centre-chief' },
    });

  const first = await approve();
  assert.equal(first.status, 200, JSON.stringify(first.body));
  // A second centre chief in the same system, without naming themselves: the same actor.
  const again = await approve();
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.code, 'APPROVAL_EXISTS');
  assert.match(again.body.message, /x-tillid-user/);
  // Naming the person makes them a second approver, and the policy is met.
  const second = await approve({ 'x-tillid-user': 'chief-2' });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const view = await g.call('GET', `/v1/contracts/${contract}`, { as: esdh });
  assert.equal(view.body.status, 'active');
});
