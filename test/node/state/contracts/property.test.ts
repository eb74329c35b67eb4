/**
 * Property tests for the contracts application (issue 4): random sequences of valid and invalid
 * actions — drafting (with and without a parent), activation and other motions approved by random
 * actors (the right ones, the wrong party, a role the key lacks, an unregistered key), status
 * reports for random periods (on time, late, never, not a reporting month), amendments of items,
 * months and reporting duty, suspension and resumption, termination of parents and children, and
 * empty blocks that move the business clock — run on the real state machine. After each run:
 *
 * (a) released payments never exceed what the contract allows: each period is released at most
 *     once, only once decided, for exactly the monthly amount of the terms version in force for it
 *     (the last version whose `fromPeriod` ≤ the period), and a month withheld because the contract
 *     was suspended or its parent not active is never released;
 * (b) nothing is released for a period whose required report is missing: before every
 *     `payment.released` for period p, every reporting period k ≤ p — under the terms version in
 *     force for k, since an amendment applies to the periods not yet decided — had a
 *     `report.received` event;
 * (c) determinism: replaying the same blocks on a second chain from genesis gives the same state
 *     root at every height, and the same events.
 *
 * Invalid actions that no block may hold (negative or zero amounts, dates out of order, PII) are
 * checked with `statelessProblem` and left out, as a proposer would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JsonObject } from '../../../../node/protocol/canonical.ts';
import type { Hex } from '../../../../node/protocol/hash.ts';
import { generateKeyPair } from '../../../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../../../node/protocol/transaction.ts';
import { addMonths, DAY_MS, formatDate, parseDate } from '../../../../node/state/contracts/calendar.ts';
import type { ContractRecord } from '../../../../node/state/contracts/records.ts';
import { isReportingPeriod, monthlyAmount, type Terms } from '../../../../node/state/contracts/terms.ts';
import { statelessProblem } from '../../../../node/state/machine.ts';
import {
  type Actor,
  actorId,
  CARE_HOME_CVR,
  CONSULTANT_CVR,
  castOfCase,
  commitment,
  contractsGenesis,
  MUNICIPALITY_CVR,
  memoryChain,
  ORIGIN,
  setUpCase,
  TAXI_CVR,
  txBuilder,
} from '../../../fixtures/contracts.ts';
import { rulesOf } from '../../../fixtures/memory-chain.ts';

/** Five business days per block: 150 blocks cover about two years. */
const MS_PER_BLOCK = 5 * DAY_MS;
const ACTIONS = ['activate', 'amend', 'suspend', 'resume', 'terminate'] as const;

// ---- generated actions (abstract: indices are resolved against the chain when they run) --------

const itemsArb = fc.array(
  fc.record({
    monthly: fc.integer({ min: 1, max: 5_000_000 }),
    until: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 3 },
);

const actionArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      template: fc.nat(1),
      provider: fc.nat(2),
      parent: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
      onParentEnd: fc.constantFrom('terminate', 'suspend'),
      startShift: fc.integer({ min: -3, max: 2 }),
      months: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      reportEvery: fc.constantFrom(0, 1, 2, 3, 3),
      items: itemsArb,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('propose' as const),
      contract: fc.nat(),
      action: fc.constantFrom(...ACTIONS, 'activate', 'activate'),
      actor: fc.nat(),
      items: fc.option(itemsArb, { nil: undefined }),
      months: fc.option(fc.integer({ min: 1, max: 14 }), { nil: undefined }),
      reportEvery: fc.option(fc.constantFrom(0, 1, 2, 3, 4), { nil: undefined }),
    }),
  },
  {
    // Both parties sign in one block: how most activations and terminations happen.
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('both' as const),
      contract: fc.nat(),
      action: fc.constantFrom('activate', 'activate', 'activate', 'terminate'),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('approve' as const), motion: fc.nat(), actor: fc.nat() }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      contract: fc.nat(),
      period: fc.integer({ min: 1, max: 14 }),
      aimed: fc.boolean(), // a reporting period that has begun, rather than any number
      actor: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stateless' as const),
      contract: fc.nat(),
      how: fc.constantFrom('negative', 'zero', 'fraction', 'until-before-start', 'cpr', 'free-text'),
    }),
  },
);
type Action = typeof actionArb extends fc.Arbitrary<infer A> ? A : never;

const stepArb = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 }).map((idle) => ({ idle, actions: [] as Action[] })) },
  {
    weight: 3,
    arbitrary: fc.array(actionArb, { minLength: 1, maxLength: 3 }).map((actions) => ({ idle: 0, actions })),
  },
);

// ---- running a sequence ---------------------------------------------------------------------------

function run(steps: { idle: number; actions: Action[] }[]) {
  const cast = castOfCase();
  const genesis = contractsGenesis([cast.authority], MS_PER_BLOCK);
  const chain = memoryChain(genesis);
  const b = txBuilder(genesis.chainId);
  const rules = rulesOf(genesis);
  /** Every block's transactions, from height 1, for the replay. */
  const blocks: Transaction[][] = [];
  /** The state root after each block. */
  const roots: string[] = [];
  const block = (...txs: Transaction[]) => {
    blocks.push(txs);
    const receipts = chain.block(...txs);
    roots.push(chain.root());
    return receipts;
  };
  const recording = { ...chain, block } as typeof chain;
  setUpCase(recording, b, cast);
  const strict = b.defineTemplate(cast.director, 'strict', {
    releaseWithheldOnReport: false,
    approvalLifetimeDays: 20,
  });
  assert.equal(block(strict)[0]?.code, 'OK');
  const templates = [`${MUNICIPALITY_CVR}/placement`, `${MUNICIPALITY_CVR}/strict`];

  const reps: Record<string, Actor> = {
    [CARE_HOME_CVR]: cast.careHomeRep,
    [CONSULTANT_CVR]: cast.consultantRep,
    [TAXI_CVR]: cast.taxiRep,
  };
  const providers = [CARE_HOME_CVR, CONSULTANT_CVR, TAXI_CVR];
  const stranger = generateKeyPair();
  const pool: Actor[] = [
    cast.caseworker,
    cast.centreChief,
    cast.centreChief2,
    cast.director,
    cast.careHomeRep,
    cast.consultantRep,
    cast.taxiRep,
    { ...cast.careHomeRep, role: 'director' }, // a role the key was not given
    { key: stranger, cvr: CARE_HOME_CVR, role: 'provider-representative', actor: actorId('stranger') },
  ];
  const contracts: Hex[] = [];
  const providerOf = new Map<Hex, string>();
  const motions: { id: Hex; contract: Hex; action: string }[] = [];
  const codes = new Map<string, number>();
  /** Drafted and proposed in the current block: kept once their transaction succeeded. */
  const created: Hex[] = [];
  const proposed: { id: Hex; contract: Hex; action: string }[] = [];

  const origin = parseDate(ORIGIN) as number;
  /** The business day of the next block. */
  const nextDay = () => origin + ((chain.height() + 1) * MS_PER_BLOCK) / DAY_MS;
  const firstOfMonth = (day: number, shift: number) => {
    const d = new Date(day * DAY_MS);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + shift, 1) / DAY_MS;
  };
  const items = (list: { monthly: number; until?: number }[], start: number) =>
    list.map((item, i) => ({
      code: `item-${i}`,
      monthly: item.monthly,
      ...(item.until !== undefined ? { until: formatDate(addMonths(start, item.until)) } : {}),
    }));
  /** For an action on a contract: the contract's provider representative, or anyone from the pool. */
  const actorFor = (n: number, contract: Hex | undefined): Actor => {
    const provider = contract ? providerOf.get(contract) : undefined;
    if (n % 4 === 0 && provider) return reps[provider] as Actor;
    return pool[n % pool.length] as Actor;
  };
  const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);

  const toTx = (a: Action): Transaction[] => {
    switch (a.kind) {
      case 'both': {
        const contract = pick(contracts, a.contract);
        if (!contract) return [];
        const motion = b.propose(cast.caseworker, contract, a.action);
        proposed.push({ id: transactionHash(motion), contract, action: a.action });
        return [motion, b.approve(actorFor(0, contract), transactionHash(motion))];
      }
      case 'create': {
        const start = firstOfMonth(nextDay(), a.startShift);
        const provider = providers[a.provider] as string;
        const parent = a.parent === undefined ? undefined : pick(contracts, a.parent);
        const tx = b.create(cast.caseworker, {
          template: templates[a.template] as string,
          provider,
          start: formatDate(start),
          ...(a.months !== undefined ? { months: a.months } : {}),
          reportEveryMonths: a.reportEvery,
          items: items(a.items, start),
          ...(parent ? { parent, onParentEnd: a.onParentEnd } : {}),
        } as JsonObject);
        created.push(transactionHash(tx));
        providerOf.set(transactionHash(tx), provider);
        return [tx];
      }
      case 'propose': {
        const contract = pick(contracts, a.contract) ?? commitment('nothing');
        const actor = actorFor(a.actor, contract);
        let extra: JsonObject = {};
        if (a.action === 'amend') {
          const c = chain.contract(contract);
          const start = c ? (parseDate(c.start) as number) : nextDay();
          const changes: JsonObject = {
            ...(a.items ? { items: items(a.items, start) } : {}),
            ...(a.months !== undefined ? { months: a.months } : {}),
            ...(a.reportEvery !== undefined ? { reportEveryMonths: a.reportEvery } : {}),
          };
          extra = { changes: Object.keys(changes).length ? changes : { reportEveryMonths: 3 } };
        }
        const tx = b.propose(actor, contract, a.action, extra);
        proposed.push({ id: transactionHash(tx), contract, action: a.action });
        return [tx];
      }
      case 'approve': {
        const motion = pick(motions, a.motion);
        if (!motion) return [];
        return [b.approve(actorFor(a.actor, motion.contract), motion.id)];
      }
      case 'report': {
        const contract = pick(contracts, a.contract) ?? commitment('nothing');
        const actor = a.actor % 5 === 0 ? actorFor(a.actor + 1, contract) : actorFor(0, contract);
        const c = chain.contract(contract);
        const every = c ? (c.versions.at(-1)?.terms.reportEveryMonths ?? 0) : 0;
        let period = a.period;
        if (a.aimed && c && every > 0) {
          let begun = 0; // periods that have begun by the next block
          while (addMonths(parseDate(c.start) as number, begun) <= nextDay()) begun++;
          const choices = Math.floor(begun / every);
          if (choices > 0) period = every * (1 + (a.period % choices));
        }
        return [
          b.report(actor, contract, period, commitment(`report-${contract}-${period}-${chain.height()}`)),
        ];
      }
      case 'stateless': {
        const contract = pick(contracts, a.contract) ?? commitment('nothing');
        const bad: Record<typeof a.how, JsonObject> = {
          negative: { changes: { items: [{ code: 'item-0', monthly: -1_000 }] } },
          zero: { changes: { items: [{ code: 'item-0', monthly: 0 }] } },
          fraction: { changes: { items: [{ code: 'item-0', monthly: 1000.5 }] } },
          'until-before-start': { changes: { items: [{ code: 'item-0', monthly: 1, until: '2026-02-30' }] } },
          cpr: { reason: 'child-0101901234' },
          'free-text': { reason: 'Jens Hansen' },
        };
        const action = a.how === 'cpr' || a.how === 'free-text' ? 'terminate' : 'amend';
        const tx = b.propose(cast.director, contract, action, bad[a.how]);
        const problem = statelessProblem({ tx, hash: transactionHash(tx) }, Date.now(), rules);
        const expected = a.how === 'cpr' ? 'PII_REJECTED' : 'TX_PAYLOAD_INVALID';
        assert.equal(problem?.code, expected, `${a.how}: ${problem?.message}`);
        codes.set(expected, (codes.get(expected) ?? 0) + 1);
        return []; // a proposer drops it; no block holds it
      }
    }
  };

  for (const step of steps) {
    if (step.idle > 0) {
      for (let i = 0; i < step.idle; i++) block();
      continue;
    }
    const txs = step.actions.flatMap(toTx);
    const receipts = block(...txs);
    const succeeded = new Set(
      txs.filter((_, i) => receipts[i]?.code === 'OK').map((t) => transactionHash(t)),
    );
    contracts.push(...created.splice(0).filter((id) => succeeded.has(id)));
    motions.push(...proposed.splice(0).filter((m) => succeeded.has(m.id)));
    for (const [i, r] of receipts.entries()) {
      const key = `${(txs[i] as Transaction).type} ${r.code}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
  }
  // Let the clock run on so that due dates, expiries and cascades happen.
  for (let i = 0; i < 10; i++) block();
  return { genesis, chain, blocks, roots, contracts, codes };
}

// ---- the invariants ------------------------------------------------------------------------------

/** The terms in force for `period`: the last version that applies from that period or earlier. */
function termsFor(c: ContractRecord, period: number): Terms {
  return (c.versions.filter((v) => v.fromPeriod <= period).at(-1) ?? c.versions[0])?.terms as Terms;
}

function checkPayments(chain: ReturnType<typeof memoryChain>, ids: Hex[]) {
  let released = 0;
  for (const id of new Set(ids)) {
    const c = chain.contract(id);
    if (!c) continue;
    const start = parseDate(c.start) as number;
    const events = chain.events.filter((e) => e.contract === id);
    const releases = events.filter((e) => e.type === 'payment.released');
    const periods = releases.map((e) => e.period as number);
    // (a) each period at most once, only decided periods, the amount of the terms in force.
    assert.equal(
      new Set(periods).size,
      periods.length,
      `contract ${id}: a period released twice: ${periods}`,
    );
    let allowed = 0;
    for (let p = 1; p <= c.decided; p++) allowed += monthlyAmount(termsFor(c, p), start, p);
    let sum = 0;
    for (const e of releases) {
      const p = e.period as number;
      assert.ok(p >= 1 && p <= c.decided, `contract ${id}: period ${p} released, ${c.decided} decided`);
      assert.equal(
        e.amount,
        monthlyAmount(termsFor(c, p), start, p),
        `contract ${id}: amount of period ${p}`,
      );
      sum += e.amount as number;
    }
    assert.ok(sum <= allowed, `contract ${id}: released ${sum} > allowed ${allowed}`);
    assert.equal(c.released, sum, `contract ${id}: the record's total matches its events`);
    released += releases.length;
    // A month that was not payable (suspended, parent not active) is never released.
    for (const w of events.filter(
      (e) => e.type === 'payment.withheld' && (e.reason === 'suspended' || e.reason === 'parent-not-active'),
    ))
      assert.ok(
        !periods.includes(w.period as number),
        `contract ${id}: unpayable period ${w.period} released`,
      );
    // (b) every required report before each release, in event order.
    for (const e of releases) {
      const p = e.period as number;
      const before = events.slice(0, events.indexOf(e));
      const reported = new Set(
        before.filter((x) => x.type === 'report.received').map((x) => x.period as number),
      );
      for (let k = 1; k <= p; k++)
        if (isReportingPeriod(termsFor(c, k), k))
          assert.ok(
            reported.has(k),
            `contract ${id}: period ${p} released (${e.reason}) at ${e.id} without the report for period ${k}`,
          );
    }
  }
  return released;
}

test('random action sequences: payments within the terms, never before the reports, identical on replay', () => {
  const totals = { runs: 0, released: 0, codes: new Map<string, number>() };
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 50, maxLength: 150 }), (steps) => {
      const { genesis, chain, blocks, roots, contracts, codes } = run(steps);
      totals.runs++;
      totals.released += checkPayments(chain, contracts);
      for (const [code, n] of codes) totals.codes.set(code, (totals.codes.get(code) ?? 0) + n);
      // (c) a second chain from genesis, the same blocks: the same root at every height and the
      // same events. The contracts application reads no wall-clock time (business time is
      // origin + height × msPerBlock), so the replay's fresh block timestamps change nothing.
      const again = memoryChain(genesis);
      for (const [i, txs] of blocks.entries()) {
        again.block(...txs);
        assert.equal(again.root(), roots[i], `state root at height ${i + 1}`);
      }
      assert.deepEqual(again.events, chain.events);
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
  );
  // The runs did exercise the rules: money was released, and good and bad actions were refused.
  assert.ok(totals.released > 0, 'some payments were released');
  if (process.env.DEBUG_PROPERTY) console.log(totals.released, [...totals.codes].sort());
  for (const code of [
    'OK',
    'PARTY_NOT_ON_CONTRACT',
    'APPROVAL_NOT_ALLOWED',
    'REPORT_PERIOD_INVALID',
    'CONTRACT_STATE',
  ])
    assert.ok((totals.codes.get(code) ?? 0) > 0, `no ${code} in ${totals.runs} runs: ${[...totals.codes]}`);
});
