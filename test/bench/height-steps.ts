/**
 * Where the blocks' time went, for bench:contracts: each node's `tillid_consensus_step_seconds`
 * histogram (node/consensus/height-trace.ts) read from its /metrics before and after a phase, and
 * the difference summed over the nodes: mean ms per height for each step, and the heights timed.
 */
import { HEIGHT_STEPS } from '../../node/consensus/height-trace.ts';

export type StepTotals = Map<string, { sum: number; count: number }>;

const LINE = /^tillid_consensus_step_seconds_(sum|count)\{step="([a-z]+)"\} ([0-9.e+-]+)$/;

/** The step histogram's sums and counts of every node, added together. */
export async function stepTotals(urls: readonly string[]): Promise<StepTotals> {
  const totals: StepTotals = new Map();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const entry = totals.get(m[2] as string) ?? { sum: 0, count: 0 };
      if (m[1] === 'sum') entry.sum += Number(m[3]);
      else entry.count += Number(m[3]);
      totals.set(m[2] as string, entry);
    }
  }
  return totals;
}

/**
 * One line per step: mean ms over the heights (and nodes) that timed it between `before` and
 * `after`. `propose` is the proposer's own build; `proposal` the others' wait for it.
 */
export function stepLines(before: StepTotals, after: StepTotals): string[] {
  const lines: string[] = [];
  for (const step of HEIGHT_STEPS) {
    const a = after.get(step);
    if (!a) continue;
    const b = before.get(step) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const ms = (1000 * (a.sum - b.sum)) / count;
    lines.push(`${step.padEnd(11)} ${ms.toFixed(0).padStart(5)} ms mean over ${count} node-heights`);
  }
  return lines;
}
