/**
 * The national workload model of `npm run bench:national`: from `assumptions.json` (stated and
 * sourced in deploy/national-model.md), how many transactions of each class a municipality of a
 * given population makes in a year, and the same for the whole country. Pure arithmetic, no I/O
 * beyond reading the assumptions, so a test can pin the counts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContractKind {
  readonly kind: string;
  readonly perChild: number;
  readonly months: number;
  readonly reportEveryMonths: number;
  readonly amendmentsPerYear: number;
  readonly monthly: readonly { readonly code: string; readonly monthly: number }[];
}

export interface Assumptions {
  readonly childrenPlacedNationally: number;
  readonly municipalitySizeClasses: readonly { name: string; count: number; population: number }[];
  readonly contractsPerChild: readonly ContractKind[];
  readonly documentAnchorsPerChildPerYear: number;
  readonly readsPerChildPerMonth: number;
  readonly production: { readonly emptyBlockIntervalSeconds: number; readonly transactionsPerBlock: number };
  readonly prices: {
    readonly vcpuHourKroner: number;
    readonly gbDiskMonthKroner: number;
    readonly gbEgressKroner: number;
  };
  readonly minimumHost: { readonly vcpus: number; readonly diskGb: number };
}

export const ASSUMPTIONS_FILE = join(import.meta.dirname, 'assumptions.json');

export function loadAssumptions(file = ASSUMPTIONS_FILE): Assumptions {
  return JSON.parse(readFileSync(file, 'utf8')) as Assumptions;
}

/** The transaction classes a year holds; `decision` is made by the chain itself, not submitted. */
export const CLASSES = ['create', 'activate', 'report', 'amend', 'anchor', 'decision', 'read'] as const;
export type TxClass = (typeof CLASSES)[number];
/** Classes that are transactions submitted to the chain (decisions are the chain's; reads are not on it). */
export const SUBMITTED: readonly TxClass[] = ['create', 'activate', 'report', 'amend', 'anchor'];

export type Counts = Record<TxClass, number>;

export const totalPopulation = (a: Assumptions): number =>
  a.municipalitySizeClasses.reduce((s, c) => s + c.count * c.population, 0);

export const municipalityCount = (a: Assumptions): number =>
  a.municipalitySizeClasses.reduce((s, c) => s + c.count, 0);

/** Children placed outside the home in a municipality of `population`, in proportion to population. */
export const childrenIn = (a: Assumptions, population: number): number =>
  (a.childrenPlacedNationally * population) / totalPopulation(a);

/**
 * A year's counts for `children` placed children: each contract is created and activated once
 * (activation co-signed: one transaction), reports every `reportEveryMonths` of its `months`,
 * `amendmentsPerYear` amendments, and one payment decision per month it runs (made by the chain).
 */
export function yearlyCounts(a: Assumptions, children: number): Counts {
  const c: Counts = { create: 0, activate: 0, report: 0, amend: 0, anchor: 0, decision: 0, read: 0 };
  for (const k of a.contractsPerChild) {
    const contracts = children * k.perChild;
    c.create += contracts;
    c.activate += contracts;
    c.report += k.reportEveryMonths > 0 ? contracts * Math.floor(k.months / k.reportEveryMonths) : 0;
    c.amend += contracts * k.amendmentsPerYear;
    c.decision += contracts * k.months;
  }
  c.anchor = children * a.documentAnchorsPerChildPerYear;
  c.read = children * a.readsPerChildPerMonth * 12;
  return c;
}

export const submittedTotal = (c: Counts): number => SUBMITTED.reduce((s, k) => s + c[k], 0);

/** One row per size class: a municipality of that class, its children and its year's counts. */
export function municipalities(a: Assumptions) {
  return a.municipalitySizeClasses.map((sizeClass) => {
    const children = childrenIn(a, sizeClass.population);
    return { ...sizeClass, children, counts: yearlyCounts(a, children) };
  });
}

export const nationalCounts = (a: Assumptions): Counts => yearlyCounts(a, a.childrenPlacedNationally);

/**
 * Blocks a chain makes in a production year: an empty block every `emptyBlockIntervalSeconds`
 * when quiet, plus one block per `transactionsPerBlock` submitted transactions (an upper bound:
 * sparse office-hours traffic rarely shares a block).
 */
export function productionBlocksPerYear(a: Assumptions, submitted: number): number {
  const empty = (365 * 86_400) / a.production.emptyBlockIntervalSeconds;
  return empty + submitted / a.production.transactionsPerBlock;
}
