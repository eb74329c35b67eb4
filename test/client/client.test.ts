/**
 * The client library against a real single-authority node process, as a support system and a
 * provider would use it: every transaction type built, signed and submitted through `client/`,
 * waited on until final, and read back through the node API.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, generateKeyPair, TillidClientError } from '../../client/index.ts';
import { readNodeConfigKey } from '../../node/custody/key-file.ts';
import { addMonths, DAY_MS, formatDate, parseDate } from '../../node/state/contracts/calendar.ts';
import { actorId, CARE_HOME_CVR, commitment, MUNICIPALITY_CVR, pilotPolicies } from '../contracts.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { initLocalNetwork, startNodeProcess, stopNodeProcess } from '../process.ts';

const CHAIN = 'tillid-client';

test('every transaction type through the client: signed, final, read back; refusals carry the stable code', async (t) => {
  const dir = tempDir(t);
  const [config] = await initLocalNetwork(dir, 1, CHAIN, 7, ['--business-days-per-block', '1']);
  const node = await startNodeProcess(config as string);
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  const authorityKey = readNodeConfigKey(config as string);
  const admin = generateKeyPair();
  const submitter = generateKeyPair(); // the municipality's case system: every municipal role
  const careHome = generateKeyPair();
  const municipal = (role: 'caseworker' | 'centre-chief' | 'director', label: string) =>
    connect(node.url, { key: submitter, as: { party: MUNICIPALITY_CVR, role, actor: actorId(label) } });

  // anchor.record, by the authority.
  const authority = await connect(node.url, { key: authorityKey });
  assert.equal(authority.chainId, CHAIN);
  const document = commitment('placement-agreement');
  const anchored = await authority.anchor(
    { hash: document, docType: 'contract', ref: 'urn:test:placement' },
    { wait: true },
  );
  assert.equal(anchored.status, 'finalized');
  assert.equal((await authority.api.anchor(document)).txHash, anchored.hash);

  // party.register (municipality by the authority; provider by the municipality's admin key).
  await authority.registerParty(
    {
      cvr: MUNICIPALITY_CVR,
      kind: 'municipality',
      keys: [
        { publicKey: admin.publicKey, roles: [], admin: true },
        { publicKey: submitter.publicKey, roles: ['caseworker', 'centre-chief', 'director'] },
      ],
    },
    { wait: true },
  );
  const municipalAdmin = await connect(node.url, { key: admin });
  await municipalAdmin.registerParty(
    {
      cvr: CARE_HOME_CVR,
      kind: 'provider',
      keys: [{ publicKey: careHome.publicKey, roles: ['provider-representative'], admin: true }],
    },
    { wait: true },
  );
  // party.addKey and party.revokeKey: a second provider key, added and revoked by the registrar.
  const spare = generateKeyPair();
  await municipalAdmin.addKey(
    { cvr: CARE_HOME_CVR, key: { publicKey: spare.publicKey, roles: ['provider-representative'] } },
    { wait: true },
  );
  await municipalAdmin.revokeKey({ cvr: CARE_HOME_CVR, publicKey: spare.publicKey }, { wait: true });
  const party = await authority.api.party(CARE_HOME_CVR);
  assert.equal(party.kind, 'provider');
  assert.equal(party.keys[careHome.publicKey].status, 'active');
  assert.equal(party.keys[spare.publicKey].status, 'revoked');

  // contract.defineTemplate and contract.create.
  const director = await municipal('director', 'director-1');
  await director.defineTemplate(
    { code: 'placement', policies: pilotPolicies(), releaseWithheldOnReport: true, approvalLifetimeDays: 30 },
    { wait: true },
  );
  const caseworker = await municipal('caseworker', 'caseworker-1');
  const today = parseDate((await caseworker.api.status()).clock?.businessDate) as number;
  const next = new Date((today + 2) * DAY_MS);
  const startDay = Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1) / DAY_MS;
  const created = await caseworker.createContract(
    {
      template: `${MUNICIPALITY_CVR}/placement`,
      provider: CARE_HOME_CVR,
      start: formatDate(startDay),
      reportEveryMonths: 1,
      kle: '27.24.00',
      items: [{ code: 'residential', monthly: 4_500_000 }],
      document,
    },
    { wait: true },
  );
  const contract = created.hash;
  assert.equal((await caseworker.api.contract(contract)).status, 'draft');

  // contract.propose with an offline co-signature: the caseworker drafts, the provider co-signs
  // the draft on its own machine, the caseworker proposes with it — one transaction activates.
  const provider = await connect(node.url, {
    key: careHome,
    as: { party: CARE_HOME_CVR, role: 'provider-representative', actor: actorId('care-home-rep') },
  });
  const draft = caseworker.draftMotion({ contract, action: 'activate' });
  const cosignature = provider.cosign(JSON.parse(JSON.stringify(draft)));
  await caseworker.proposeDraft(draft, [cosignature], { wait: true });
  assert.equal((await caseworker.api.contract(contract)).status, 'active');

  // contract.propose then contract.approve: two centre chiefs amend the terms.
  const chief1 = await municipal('centre-chief', 'centre-chief-1');
  const chief2 = await municipal('centre-chief', 'centre-chief-2');
  const amend = await chief1.propose(
    { contract, action: 'amend', changes: { items: [{ code: 'residential', monthly: 4_600_000 }] } },
    { wait: true },
  );
  assert.equal((await chief1.api.contract(contract)).versions.length, 1, 'one chief is not enough');
  await chief2.approve(amend.hash, { wait: true });
  const amended = await chief2.api.contract(contract);
  assert.equal(amended.versions.length, 2);
  assert.equal(amended.versions[1].terms.items[0].monthly, 4_600_000);

  // contract.report, the provider's one line, once the first month has begun.
  await waitFor(
    async () =>
      (parseDate((await provider.api.status()).clock?.businessDate) as number) >= startDay ? true : undefined,
    30_000,
  );
  const report = await provider.report(
    { contract, period: 1, document: commitment('report-1') },
    { wait: true },
  );
  assert.equal(report.status, 'finalized');
  // The same report again: the chain refuses it in the block, and the client says why.
  await assert.rejects(
    provider.report({ contract, period: 1, document: commitment('report-1b') }, { wait: true }),
    (e: unknown) => e instanceof TillidClientError && e.code === 'REPORT_EXISTS' && e.rejected,
  );
  // A payload the node refuses at admission: a 4xx with the stable code, nothing recorded.
  await assert.rejects(
    provider.report({ contract, period: 0, document: commitment('report-0') }),
    (e: unknown) => e instanceof TillidClientError && e.code === 'TX_PAYLOAD_INVALID' && e.status === 400,
  );

  // Reads: the payment decision at the first due date, receipts, events, report duties.
  const firstDue = addMonths(startDay, 1);
  const month = formatDate(firstDue).slice(0, 7);
  const decisions = await waitFor(async () => {
    const list = await provider.api.payments(MUNICIPALITY_CVR, month);
    return list.length > 0 ? list : undefined;
  }, 30_000);
  assert.deepEqual(
    decisions.map((d) => [d.contract, d.period, d.kind, d.amount]),
    [[contract, 1, 'release', 4_600_000]],
  );
  // The provider's own view of the month holds the same decision.
  assert.deepEqual(
    (await provider.api.paymentsFor(CARE_HOME_CVR, month)).map((d) => [d.contract, d.period, d.kind]),
    [[contract, 1, 'release']],
  );
  const view = await provider.api.transaction(report.hash);
  const receipts = await provider.api.receipts(view?.height as number);
  assert.deepEqual(
    receipts?.receipts.filter((r) => r.hash === report.hash).map((r) => r.code),
    ['OK'],
  );
  const types: string[] = [];
  for (let after = 0; ; ) {
    const page = await provider.api.events({ after, limit: 100 });
    types.push(...page.events.filter((e) => e.contract === contract).map((e) => e.type));
    if (page.next >= page.head) break;
    after = page.next;
  }
  for (const type of ['contract.created', 'contract.activated', 'contract.amended', 'report.received'])
    assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
  assert.ok((await provider.api.contracts(CARE_HOME_CVR)).some((c) => c.id === contract));
  assert.ok(Array.isArray(await provider.api.reports(CARE_HOME_CVR)));

  // governance.vote and governance.propose (last: an added authority that never starts halts this
  // one-node chain two blocks later).
  await assert.rejects(
    authority.vote('ab'.repeat(32), { wait: true }),
    (e: unknown) => e instanceof TillidClientError && e.code === 'GOVERNANCE_REFUSED' && e.rejected,
  );
  const newcomer = generateKeyPair();
  const proposed = await authority.proposeMembership(
    { action: 'add', name: 'Albertslund Kommune', cvr: '12345678', publicKey: newcomer.publicKey },
    { wait: true },
  );
  const proposal = await authority.api.proposal(proposed.hash);
  assert.equal(proposal.status, 'approved');
  assert.equal(proposal.authority.publicKey, newcomer.publicKey);
});
