/**
 * The year a `bench:national` run plays, as signed transactions: `children` placed children with
 * the contracts, reports, amendments and document anchors `assumptions.json` gives them, all
 * starting on one business day and signed up front (so signing takes no CPU from the nodes).
 *
 * Every contract starts on `start` (the 1st of a month): the chain then decides each contract's
 * months on the 1st of each month, and the benchmark sends the month's submissions mid-month, so
 * the chain's own decisions and the submitted classes fall in different blocks and their costs can
 * be told apart. A real year spreads starts over the months; the yearly counts are the same.
 */
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import {
  CARE_HOME_CVR,
  type Cast,
  commitment,
  MUNICIPALITY_CVR,
  txBuilder,
} from '../../fixtures/contracts.ts';
import type { Assumptions, TxClass } from './model.ts';

export interface Plan {
  readonly create: Transaction[];
  readonly activate: Transaction[];
  /** Per month 1..12 of the year (index 0 unused): what is sent mid-month. */
  readonly monthly: { report: Transaction[]; amend: Transaction[]; anchor: Transaction[] }[];
  /** Contract ids, for the reads. */
  readonly contracts: string[];
  /** Payment decisions due on the 1st of month m+1 (index m = 1..12, the end of month m). */
  readonly decisionsDue: number[];
  readonly counts: Record<TxClass, number>;
}

/** The municipality, its three providers and the placement template, in the order they must land. */
export function planSetup(chainId: string, authority: KeyPair, cast: Cast): Transaction[][] {
  const b = txBuilder(chainId);
  return [
    [
      b.registerMunicipality(authority, MUNICIPALITY_CVR, [
        { publicKey: cast.municipalAdmin.publicKey, roles: [], admin: true },
        { publicKey: cast.submitter.publicKey, roles: ['caseworker', 'centre-chief', 'director'] },
      ]),
    ],
    [
      b.registerProvider(cast.municipalAdmin, CARE_HOME_CVR, cast.careHome.key),
      b.registerProvider(cast.municipalAdmin, cast.consultant.cvr, cast.consultant.key),
      b.registerProvider(cast.municipalAdmin, cast.taxi.cvr, cast.taxi.key),
      b.defineTemplate(cast.director, 'placement', { approvalLifetimeDays: 365 }),
    ],
  ];
}

export function planYear(a: Assumptions, children: number, chainId: string, cast: Cast, start: string): Plan {
  // Pre-signed transactions must still be valid when sent: the node refuses an expiresAt more than
  // an hour past block time, and the run is far shorter than the half hour given here.
  const b = txBuilder(chainId, () => Date.now() + 25 * 60_000);
  const provider = {
    placement: cast.careHomeRep,
    consultant: cast.consultantRep,
    taxi: cast.taxiRep,
    'school-support': cast.careHomeRep,
  } as Record<string, typeof cast.careHomeRep>;
  const template = `${MUNICIPALITY_CVR}/placement`;
  const create: Transaction[] = [];
  const activate: Transaction[] = [];
  const monthly = Array.from({ length: 13 }, () => ({
    report: [] as Transaction[],
    amend: [] as Transaction[],
    anchor: [] as Transaction[],
  }));
  const decisionsDue = Array.from({ length: 13 }, () => 0);
  const contracts: string[] = [];
  for (const kind of a.contractsPerChild) {
    const n = Math.round(children * kind.perChild);
    const amended = Math.round(n * kind.amendmentsPerYear);
    const rep = provider[kind.kind] ?? cast.careHomeRep;
    for (let i = 0; i < n; i++) {
      const tx = b.create(cast.caseworker, {
        template,
        provider: rep.cvr,
        start,
        months: kind.months,
        reportEveryMonths: kind.reportEveryMonths,
        items: kind.monthly.map((item) => ({ ...item })),
      });
      const id = transactionHash(tx);
      create.push(tx);
      contracts.push(id);
      activate.push(b.proposeCosigned(cast.caseworker, id, 'activate', [rep]));
      for (let m = 1; m <= kind.months; m++) decisionsDue[m] = (decisionsDue[m] as number) + 1;
      if (kind.reportEveryMonths > 0)
        for (let p = kind.reportEveryMonths; p <= kind.months; p += kind.reportEveryMonths)
          monthly[p]?.report.push(b.report(rep, id, p, commitment(`${id}:${p}`)));
      // Amendments mid-year (the story's extra school support added to the placement).
      if (i < amended)
        monthly[Math.min(6, kind.months)]?.amend.push(
          b.propose(cast.director, id, 'amend', {
            changes: { items: [...kind.monthly, { code: 'extra-support', monthly: 300_000 }] },
          }),
        );
    }
  }
  const anchors = Math.round(children * a.documentAnchorsPerChildPerYear);
  for (let i = 0; i < anchors; i++)
    monthly[1 + (i % 12)]?.anchor.push(
      b.sign(cast.submitter, 'anchor.record', {
        hash: commitment(`${chainId}:document:${i}`),
        docType: 'case-document',
        ref: `urn:tillid:bench:national:${i}`,
      }),
    );
  const sum = (k: 'report' | 'amend' | 'anchor') => monthly.reduce((s, m) => s + m[k].length, 0);
  return {
    create,
    activate,
    monthly,
    contracts,
    decisionsDue,
    counts: {
      create: create.length,
      activate: activate.length,
      report: sum('report'),
      amend: sum('amend'),
      anchor: sum('anchor'),
      decision: decisionsDue.reduce((s, d) => s + d, 0),
      read: Math.round(children * a.readsPerChildPerMonth * 12),
    },
  };
}
