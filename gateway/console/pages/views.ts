/** The shapes of the node's contract read models the console renders (node/state/contracts/read-models.ts). */

export interface LineItemView {
  readonly code: string;
  readonly monthly: number;
  readonly until?: string;
}

export interface ContractSummary {
  readonly id: string;
  readonly template: string;
  readonly municipality: string;
  readonly provider: string;
  readonly start: string;
  readonly status: string;
  readonly caseRef?: string;
  readonly kle?: string;
  readonly parent?: string;
  readonly onParentEnd?: 'terminate' | 'suspend';
  readonly children: readonly string[];
  readonly terms: {
    readonly items: readonly LineItemView[];
    readonly months: number | null;
    readonly reportEveryMonths: number;
  };
}

export interface MotionView {
  readonly id: string;
  readonly action: string;
  readonly status: string;
  readonly expiresOn: string;
  readonly policy?: string;
  readonly missing?: string;
  readonly approvals: readonly { readonly cvr: string; readonly role: string; readonly height: number }[];
}

export interface ContractView extends ContractSummary {
  readonly motions: readonly MotionView[];
  /** Every version of the terms, oldest first (amendments add one). */
  readonly versions?: readonly TermsVersionView[];
  readonly payments: readonly {
    readonly type: string;
    readonly period: number;
    readonly due?: string;
    readonly amount?: number;
    readonly reason?: string;
    readonly height: number;
  }[];
  readonly reportDuties: readonly {
    readonly period: number;
    readonly due: string;
    readonly status: string;
  }[];
}

/** What a month costs now: the sum of the line items in force (no `until`, or one still ahead). */
export const monthly = (c: ContractSummary): number => c.terms.items.reduce((sum, i) => sum + i.monthly, 0);

/** The last day of the contract's period, when it has a fixed length. */
export function endOf(c: ContractSummary): string | undefined {
  if (c.terms.months === null) return undefined;
  const [y, m, d] = c.start.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1 + c.terms.months, d - 1)).toISOString().slice(0, 10);
}

/**
 * The contracts ending `root` would end or pause too, before it happens: its dependants, each by
 * its `onParentEnd` (a draft always ends), and — for those it terminates — their dependants in
 * turn, exactly as the chain's cascade (`endContract` in node/state/contracts/agenda.ts).
 */
export function cascadeOf(
  root: string,
  all: ReadonlyMap<string, ContractSummary>,
): { id: string; effect: 'terminate' | 'suspend' }[] {
  const out: { id: string; effect: 'terminate' | 'suspend' }[] = [];
  const queue = [root];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const parent = all.get(queue.shift() as string);
    for (const child of parent?.children ?? []) {
      const c = all.get(child);
      if (!c || seen.has(child) || c.status === 'terminated' || c.status === 'expired') continue;
      seen.add(child);
      if (c.onParentEnd === 'terminate' || c.status === 'draft') {
        out.push({ id: child, effect: 'terminate' });
        queue.push(child);
      } else if (c.status === 'active') out.push({ id: child, effect: 'suspend' });
    }
  }
  return out;
}

/** One version of a contract's terms, and the height and motion that set it. */
export interface TermsVersionView {
  readonly terms: {
    readonly items: readonly LineItemView[];
    readonly months: number | null;
    readonly reportEveryMonths: number;
  };
  readonly fromPeriod: number;
  readonly height: number;
  readonly motion?: string;
}
