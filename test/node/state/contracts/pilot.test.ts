/**
 * The 2018 pilot's contracts K1–K5 and the whole placement case, run on the real state machine
 * with an accelerated business clock (one day per block). Each test reads what a municipality's
 * economy system would receive: the payment decisions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hex } from '../../../../node/protocol/hash.ts';
import { transactionHash } from '../../../../node/protocol/transaction.ts';
import { kOf } from '../../../../node/state/contracts/policy.ts';
import type { ChainEvent } from '../../../../node/state/events.ts';
import {
  CARE_HOME_CVR,
  type Cast,
  caseOnMemoryChain,
  commitment,
  type setUpCase,
} from '../../../fixtures/contracts.ts';

const RESIDENTIAL = 4_500_000; // øre a month
const SCHOOL = 1_000_000;

function world(template: Parameters<typeof setUpCase>[3] = {}) {
  const { cast, chain, b, template: templateId } = caseOnMemoryChain({ template });
  const ok = (...txs: Parameters<typeof chain.block>) => {
    const receipts = chain.block(...txs);
    for (const [i, r] of receipts.entries())
      assert.equal(r.code, 'OK', `transaction ${i}: ${r.code} ${r.message ?? ''}`);
  };
  /** Drafts a contract (the caseworker, on the case's template); returns its id. */
  const draftContract = (fields: Record<string, unknown>, provider: string = CARE_HOME_CVR): Hex => {
    const create = b.create(cast.caseworker, { template: templateId, provider, ...fields } as never);
    ok(create);
    return transactionHash(create);
  };
  /** Drafts a contract and activates it with both parties' signatures; returns its id. */
  const activeContract = (
    fields: Record<string, unknown>,
    rep: Cast['careHomeRep'] = cast.careHomeRep,
  ): Hex => {
    const id = draftContract(fields, rep.cvr);
    const motion = b.propose(cast.caseworker, id, 'activate');
    ok(motion);
    ok(b.approve(rep, transactionHash(motion)));
    return id;
  };
  /** Runs an approval motion through to execution with the given approvers. */
  const passMotion = (id: Hex, action: string, approvers: Cast['director'][], extra = {}) => {
    const [first, ...rest] = approvers as [Cast['director'], ...Cast['director'][]];
    const motion = b.propose(first, id, action, extra);
    ok(motion);
    for (const a of rest) ok(b.approve(a, transactionHash(motion)));
    return transactionHash(motion);
  };
  const payments = (id: Hex) =>
    chain.events
      .filter((e) => e.contract === id && e.type.startsWith('payment.'))
      .map((e) => `${e.period}:${e.type === 'payment.released' ? 'release' : 'withhold'}:${e.reason}`);
  const released = (id: Hex) => chain.contract(id).released;
  /** Advances the clock to the day before period `p`'s due date (so a report "arrives on time"). */
  const untilBeforeDue = (id: Hex, p: number) => {
    const start = Date.parse(`${chain.contract(id).start}T00:00:00Z`);
    const due = new Date(start);
    due.setUTCMonth(due.getUTCMonth() + p);
    const day = (due.getTime() - Date.parse('2026-01-01T00:00:00Z')) / 86_400_000;
    // Block h runs on business day origin + h: stop so that the next block falls on the eve.
    while (chain.height() < day - 2) chain.block();
  };
  /** Runs empty blocks until the business date is `date` (the next block runs on the day after). */
  const until = (date: string) => {
    const day = (Date.parse(`${date}T00:00:00Z`) - Date.parse('2026-01-01T00:00:00Z')) / 86_400_000;
    while (chain.height() < day) chain.block();
  };
  return {
    cast,
    chain,
    b,
    templateId,
    ok,
    draftContract,
    activeContract,
    passMotion,
    payments,
    released,
    untilBeforeDue,
    until,
  };
}

const placement = {
  start: '2026-02-01',
  months: 12,
  reportEveryMonths: 3,
  items: [
    { code: 'residential', monthly: RESIDENTIAL },
    { code: 'school', monthly: SCHOOL },
  ],
};

test('K1: 12 monthly payments, each quarterly status report arrives in time, the last payment expires the contract', () => {
  const w = world();
  const k1 = w.activeContract(placement);
  for (const period of [3, 6, 9, 12]) {
    w.untilBeforeDue(k1, period);
    w.ok(w.b.report(w.cast.careHomeRep, k1, period, commitment(`k1-report-${period}`)));
  }
  w.chain.advance(5);
  assert.deepEqual(
    w.payments(k1),
    Array.from({ length: 12 }, (_, i) => `${i + 1}:release:scheduled`),
  );
  assert.equal(w.released(k1), 12 * (RESIDENTIAL + SCHOOL));
  assert.equal(w.chain.contract(k1).status, 'expired');
  assert.equal(w.chain.contract(k1).endedOn, '2027-02-01');
});

test('K1: a missing report withholds its month and the following ones; the late report releases them', () => {
  const w = world();
  const k1 = w.activeContract(placement);
  w.untilBeforeDue(k1, 5); // the month-3 report never came; month 5 is about to be decided
  w.chain.advance(2);
  assert.deepEqual(w.payments(k1), [
    '1:release:scheduled',
    '2:release:scheduled',
    '3:withhold:report-missing',
    '4:withhold:report-missing',
    '5:withhold:report-missing',
  ]);
  assert.ok(w.chain.events.some((e) => e.contract === k1 && e.type === 'report.overdue' && e.period === 3));
  w.ok(w.b.report(w.cast.careHomeRep, k1, 3, commitment('k1-late-3')));
  assert.deepEqual(w.payments(k1).slice(5), [
    '3:release:report-received',
    '4:release:report-received',
    '5:release:report-received',
  ]);
  assert.equal(w.released(k1), 5 * (RESIDENTIAL + SCHOOL));
  // The month-6 report is on time, so month 6 is paid as scheduled.
  w.untilBeforeDue(k1, 6);
  w.ok(w.b.report(w.cast.careHomeRep, k1, 6, commitment('k1-6')));
  w.chain.advance(2);
  assert.equal(w.payments(k1).at(-1), '6:release:scheduled');
});

test('K1: the last report after expiry still releases the withheld last month; a template can also forbid late release', () => {
  const w = world();
  const k1 = w.activeContract({ ...placement, months: 3 });
  w.chain.advance(120);
  assert.equal(w.chain.contract(k1).status, 'expired');
  assert.deepEqual(w.payments(k1), [
    '1:release:scheduled',
    '2:release:scheduled',
    '3:withhold:report-missing',
  ]);
  w.ok(w.b.report(w.cast.careHomeRep, k1, 3, commitment('k1-after-expiry')));
  assert.equal(w.payments(k1).at(-1), '3:release:report-received');

  const strict = world({ releaseWithheldOnReport: false });
  const k1b = strict.activeContract({ ...placement, months: 3 });
  strict.chain.advance(120);
  strict.ok(strict.b.report(strict.cast.careHomeRep, k1b, 3, commitment('k1b-after-expiry')));
  assert.deepEqual(strict.payments(k1b), [
    '1:release:scheduled',
    '2:release:scheduled',
    '3:withhold:report-missing',
  ]);
  assert.equal(strict.released(k1b), 2 * (RESIDENTIAL + SCHOOL));
});

test('K2: the owner pauses a supporting contract (1 director or 2 centre chiefs) and resumes it; paused months are not paid', () => {
  const w = world();
  const k2 = w.activeContract({
    start: '2026-02-01',
    reportEveryMonths: 0,
    items: [{ code: 'school-support', monthly: 800_000 }],
  });
  w.until('2026-04-10'); // periods 1 and 2 decided (2026-03-01, 2026-04-01)
  // One centre chief is not enough; the motion waits, visibly, for a second one.
  const motion = w.b.propose(w.cast.centreChief, k2, 'suspend');
  w.ok(motion);
  assert.equal(w.chain.contract(k2).status, 'active');
  assert.equal(w.chain.motion(transactionHash(motion)).status, 'open');
  w.ok(w.b.approve(w.cast.centreChief2, transactionHash(motion)));
  assert.equal(w.chain.contract(k2).status, 'suspended');
  w.until('2026-05-10'); // period 3 decided while suspended
  w.passMotion(k2, 'resume', [w.cast.director]);
  w.until('2026-06-10');
  assert.deepEqual(w.payments(k2), [
    '1:release:scheduled',
    '2:release:scheduled',
    '3:withhold:suspended',
    '4:release:scheduled',
  ]);
});

test('K3 and K5: 3-month contracts pay 3 months and expire', () => {
  const w = world();
  const taxi = w.activeContract(
    { start: '2026-02-01', months: 3, reportEveryMonths: 0, items: [{ code: 'taxi', monthly: 600_000 }] },
    w.cast.taxiRep,
  );
  const consultant = w.activeContract(
    {
      start: '2026-02-01',
      months: 3,
      reportEveryMonths: 3,
      items: [{ code: 'supervised-contact', monthly: 1_200_000 }],
    },
    w.cast.consultantRep,
  );
  w.untilBeforeDue(consultant, 3);
  w.ok(w.b.report(w.cast.consultantRep, consultant, 3, commitment('consultant-3')));
  w.chain.advance(40);
  for (const id of [taxi, consultant]) {
    assert.deepEqual(w.payments(id), ['1:release:scheduled', '2:release:scheduled', '3:release:scheduled']);
    assert.equal(w.chain.contract(id).status, 'expired');
  }
  assert.equal(w.released(taxi), 3 * 600_000);
});

/** An active placement and an active school support that is suspended when the placement ends. */
function parentWithSuspendingChild(w: ReturnType<typeof world>) {
  const parent = w.activeContract({
    start: '2026-02-01',
    reportEveryMonths: 0,
    items: [{ code: 'residential', monthly: RESIDENTIAL }],
  });
  const child = w.activeContract({
    start: '2026-02-01',
    reportEveryMonths: 0,
    items: [{ code: 'school-support', monthly: 800_000 }],
    parent,
    onParentEnd: 'suspend',
  });
  return { parent, child };
}

test('K4: a dependent contract pays only while its parent is active', () => {
  const w = world();
  const { parent, child } = parentWithSuspendingChild(w);
  w.until('2026-03-10'); // period 1 decided for both
  w.passMotion(parent, 'suspend', [w.cast.director]);
  w.until('2026-04-10');
  assert.deepEqual(w.payments(child), ['1:release:scheduled', '2:withhold:parent-not-active']);
  // A child cannot be resumed or activated under an inactive parent…
  const refused = w.chain.block(w.b.propose(w.cast.director, child, 'suspend'));
  assert.equal(refused[0]?.code, 'OK');
  const resume = w.chain.block(w.b.propose(w.cast.director, child, 'resume'));
  assert.equal(resume[0]?.code, 'CONTRACT_STATE');
  // …and when the parent ends, the child is suspended in the same block (its rule).
  w.passMotion(parent, 'resume', [w.cast.director]);
  const end = w.b.propose(w.cast.caseworker, parent, 'terminate', { reason: 'returned-home' });
  w.ok(end);
  w.ok(w.b.approve(w.cast.careHomeRep, transactionHash(end)));
  const ended = w.chain.events.filter((e) => e.height === w.chain.height());
  assert.deepEqual(
    ended
      .filter((e) => e.type === 'contract.terminated' || e.type === 'contract.suspended')
      .map((e) => [e.type, e.contract]),
    [['contract.terminated', parent]],
    'the child was already suspended; the parent ends',
  );
  assert.equal(w.chain.contract(child).status, 'suspended');
});

test('two-party activation and termination: neither party alone can do it', () => {
  const w = world();
  const id = w.draftContract(placement);
  // Two municipal signatures are still one party.
  const motion = w.b.propose(w.cast.caseworker, id, 'activate');
  w.ok(motion);
  const second = w.chain.block(w.b.approve(w.cast.centreChief, transactionHash(motion)));
  assert.equal(second[0]?.code, 'APPROVAL_NOT_ALLOWED');
  assert.equal(w.chain.contract(id).status, 'draft');
  w.ok(w.b.approve(w.cast.careHomeRep, transactionHash(motion)));
  assert.equal(w.chain.contract(id).status, 'active');
  const end = w.b.propose(w.cast.careHomeRep, id, 'terminate', { reason: 'provider-closing' });
  w.ok(end);
  assert.equal(w.chain.contract(id).status, 'active', 'the provider alone cannot terminate');
  w.ok(w.b.approve(w.cast.caseworker, transactionHash(end)));
  assert.equal(w.chain.contract(id).status, 'terminated');
  const activated = w.chain.events.find(
    (e) => e.type === 'contract.activated' && e.contract === id,
  ) as ChainEvent;
  assert.deepEqual(
    (activated.approvals as { cvr: string; role: string }[]).map((a) => [a.cvr, a.role]),
    [
      ['29189846', 'caseworker'],
      [CARE_HOME_CVR, 'provider-representative'],
    ],
  );
});

test('partial approvals expire with their motion', () => {
  const w = world({ approvalLifetimeDays: 5 });
  const id = w.draftContract(placement);
  const motion = w.b.propose(w.cast.caseworker, id, 'activate');
  w.ok(motion);
  w.chain.advance(6);
  const late = w.chain.block(w.b.approve(w.cast.careHomeRep, transactionHash(motion)));
  assert.equal(late[0]?.code, 'APPROVAL_EXPIRED');
  assert.equal(w.chain.contract(id).status, 'draft');
});

test('the case story: placement, consultant, taxi, school support added and reviewed, termination after 12 months cascades', () => {
  const w = world({ policies: { amend: kOf(1, 'director', 'municipality') } });
  const { cast } = w;
  // The caseworker makes the placement contract with the care home: residential and school parts,
  // a status report every 3 months; care home and caseworker sign.
  const placementId = w.activeContract({
    start: '2026-02-01',
    reportEveryMonths: 3,
    items: [
      { code: 'residential', monthly: RESIDENTIAL },
      { code: 'school', monthly: SCHOOL },
    ],
    kle: '27.24.00',
  });
  // Supervised contact visits by an external consultant, with its own quarterly reports.
  const consultant = w.activeContract(
    {
      start: '2026-02-01',
      reportEveryMonths: 3,
      items: [{ code: 'supervised-contact', monthly: 1_200_000 }],
      parent: placementId,
      onParentEnd: 'terminate',
    },
    cast.consultantRep,
  );
  // A taxi to and from school for the first 3 months.
  const taxi = w.activeContract(
    {
      start: '2026-02-01',
      months: 3,
      reportEveryMonths: 0,
      items: [{ code: 'school-taxi', monthly: 600_000 }],
      parent: placementId,
      onParentEnd: 'terminate',
    },
    cast.taxiRep,
  );
  // After the start, extra school support (6 hours a week) is added for 3 months, then reviewed.
  w.chain.advance(20);
  const support = w.activeContract({
    start: '2026-03-01',
    reportEveryMonths: 0,
    items: [{ code: 'school-support-6h', monthly: 900_000, until: '2026-06-01' }],
    parent: placementId,
    onParentEnd: 'terminate',
  });
  // Both providers report every quarter, on time.
  for (let period = 3; period <= 12; period += 3) {
    w.untilBeforeDue(placementId, period);
    w.ok(
      w.b.report(cast.careHomeRep, placementId, period, commitment(`placement-${period}`)),
      w.b.report(cast.consultantRep, consultant, period, commitment(`consultant-${period}`)),
    );
    if (period === 3) {
      // The review after 3 months: the director extends school support, adjusted to 4 hours a week.
      w.passMotion(support, 'amend', [cast.director], {
        changes: { items: [{ code: 'school-support-4h', monthly: 600_000, until: '2026-12-01' }] },
      });
    }
  }
  // After 12 months the child returns home: both parties sign the termination.
  w.untilBeforeDue(placementId, 12);
  w.chain.advance(2);
  const end = w.b.propose(cast.caseworker, placementId, 'terminate', {
    reason: 'returned-home',
    document: commitment('termination'),
  });
  w.ok(end);
  w.ok(w.b.approve(cast.careHomeRep, transactionHash(end)));
  const lastBlock = w.chain.events.filter((e) => e.height === w.chain.height());
  assert.deepEqual(
    lastBlock
      .filter((e) => e.type === 'contract.terminated')
      .map((e) => e.contract)
      .sort(),
    [placementId, consultant, support].sort(),
    'the placement and its running dependants end in one block',
  );
  assert.equal(w.chain.contract(taxi).status, 'expired', 'the taxi had expired after 3 months');
  w.chain.advance(40);
  assert.deepEqual(
    w.payments(placementId),
    Array.from({ length: 12 }, (_, i) => `${i + 1}:release:scheduled`),
  );
  assert.equal(w.released(placementId), 12 * (RESIDENTIAL + SCHOOL));
  assert.equal(w.released(consultant), 12 * 1_200_000);
  assert.equal(w.released(taxi), 3 * 600_000);
  // School support: March and April at 6 hours; the review on 1 May changes every month not yet
  // decided (May on) to 4 hours, extended to the end of November; then it lapses.
  const supportPayments = w.chain.events.filter(
    (e) => e.contract === support && e.type === 'payment.released',
  );
  assert.deepEqual(
    supportPayments.map((e) => e.amount),
    [900_000, 900_000, ...Array(7).fill(600_000)],
  );
  assert.ok(
    w.chain.events.some(
      (e) => e.contract === support && e.type === 'item.lapsed' && e.item === 'school-support-4h',
    ),
  );
  // The timeline keeps every version of the terms.
  assert.equal(w.chain.contract(support).versions.length, 2);
  assert.equal(w.chain.contract(placementId).documents.at(-1)?.docType, 'terminate');
});

test("the pilot's offline multisignature: both parties sign, one broadcasts, the contract activates in one transaction", () => {
  const w = world();
  const id = w.draftContract(placement);
  w.ok(w.b.proposeCosigned(w.cast.caseworker, id, 'activate', [w.cast.careHomeRep]));
  assert.equal(w.chain.contract(id).status, 'active');
  // A co-signature is bound to its transaction: the same signature on other content does not verify.
  const end = w.b.proposeCosigned(w.cast.caseworker, id, 'terminate', [w.cast.careHomeRep], {
    reason: 'returned-home',
  });
  const forged = w.b.sign(w.cast.submitter, 'contract.propose', {
    ...end.payload,
    reason: 'provider-closing',
  });
  assert.equal(w.chain.block(forged)[0]?.code, 'COSIGNATURE_INVALID');
  assert.equal(w.chain.contract(id).status, 'active');
  // A co-signer must fit the policy and be a party to the contract, like any approver.
  const stranger = w.b.proposeCosigned(w.cast.caseworker, id, 'terminate', [w.cast.taxiRep]);
  assert.equal(w.chain.block(stranger)[0]?.code, 'PARTY_NOT_ON_CONTRACT');
  w.ok(end);
  assert.equal(w.chain.contract(id).status, 'terminated');
});

test('an amendment changes the reporting duty only for months not yet decided', () => {
  const w = world();
  const k1 = w.activeContract(placement);
  w.until('2026-05-10'); // month 3 withheld: its report is missing
  assert.deepEqual(w.payments(k1).slice(-1), ['3:withhold:report-missing']);
  // The director changes the duty to every 4th month from month 4 on; month 3 still needs its report.
  w.passMotion(k1, 'amend', [w.cast.director], { changes: { reportEveryMonths: 4 } });
  w.ok(w.b.report(w.cast.careHomeRep, k1, 4, commitment('k1-4')));
  w.until('2026-06-10');
  assert.deepEqual(w.payments(k1).slice(-1), ['4:withhold:report-missing'], 'month 3 is still missing');
  w.ok(w.b.report(w.cast.careHomeRep, k1, 3, commitment('k1-3-late')));
  assert.deepEqual(w.payments(k1).slice(-2), ['3:release:report-received', '4:release:report-received']);
  // Month 6 was a reporting month under the old terms only: no report is asked for it any more.
  const refused = w.chain.block(w.b.report(w.cast.careHomeRep, k1, 6, commitment('k1-6')));
  assert.equal(refused[0]?.code, 'REPORT_PERIOD_INVALID');
  assert.match(refused[0]?.message ?? '', /no status report is required for period 6/);
});

test('a child suspended when its parent ended is not withheld forever: the municipality can resume it, and it then runs on its own', () => {
  const w = world();
  const { parent, child } = parentWithSuspendingChild(w);
  w.until('2026-03-10');
  const end = w.b.propose(w.cast.caseworker, parent, 'terminate', { reason: 'returned-home' });
  w.ok(end);
  w.ok(w.b.approve(w.cast.careHomeRep, transactionHash(end)));
  assert.equal(w.chain.contract(child).status, 'suspended');
  w.until('2026-04-10');
  assert.deepEqual(w.payments(child), ['1:release:scheduled', '2:withhold:suspended']);
  // The template's resume policy (here one director) decides; the ended parent no longer does.
  w.passMotion(child, 'resume', [w.cast.director]);
  assert.equal(w.chain.contract(child).status, 'active');
  w.until('2026-05-10');
  assert.deepEqual(w.payments(child), ['1:release:scheduled', '2:withhold:suspended', '3:release:scheduled']);
});
