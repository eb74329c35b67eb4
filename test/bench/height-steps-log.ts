/**
 * Where each height's time went, from the nodes' own logs: every `height steps (ms)` line (logged at
 * debug level by node/consensus/consortium-events.ts) of every log file in DIR, one row per height
 * (median over the nodes that timed it), then the mean of each step over the heavy heights (the
 * validation took over 100 ms) and over the light ones. Heights with a round change are listed
 * apart: they are not split into steps.
 *
 *   TILLID_LOG_LEVEL=debug TILLID_TEST_NODE_LOGS=DIR npm run bench:contracts -- --skip-baseline
 *   node test/bench/height-steps-log.ts DIR [--rows]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const STEPS = ['wait', 'propose', 'proposal', 'validate', 'prevotes', 'precommits', 'commit'] as const;
type Steps = Partial<Record<(typeof STEPS)[number], number>>;

const dir = process.argv[2];
if (!dir) throw new Error('usage: node test/bench/height-steps-log.ts DIR [--rows]');
const byHeight = new Map<number, Steps[]>();
const roundChanges = new Set<number>();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; height?: number; steps?: Steps };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.msg === 'round change' && entry.height !== undefined) roundChanges.add(entry.height);
    if (entry.msg !== 'height steps (ms)' || entry.height === undefined || !entry.steps) continue;
    byHeight.set(entry.height, [...(byHeight.get(entry.height) ?? []), entry.steps]);
  }
}

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** One height: the median of each step over its nodes; `validate` only from nodes that validated. */
const rows = [...byHeight.entries()]
  .sort(([a], [b]) => a - b)
  .map(([height, nodes]) => {
    const row: Steps & { height: number } = { height };
    for (const step of STEPS) {
      const from = step === 'validate' ? nodes.filter((n) => n.proposal !== undefined) : nodes;
      const value = median(from.flatMap((n) => (n[step] === undefined ? [] : [n[step] as number])));
      if (value !== undefined) row[step] = value;
    }
    return row;
  });

const show = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(0));
if (process.argv.includes('--rows'))
  for (const row of rows)
    console.log(`${row.height}\t${STEPS.map((s) => `${s} ${show(row[s])}`).join('\t')}`);

for (const [name, set] of [
  ['heavy', rows.filter((r) => (r.validate ?? 0) > 100)],
  ['light', rows.filter((r) => (r.validate ?? 0) <= 100)],
] as const) {
  const means = STEPS.map((step) => {
    const xs = set.flatMap((r) => (r[step] === undefined ? [] : [r[step] as number]));
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
  });
  const path = ['wait', 'proposal', 'validate', 'prevotes', 'precommits', 'commit'] as const;
  const sum = path.reduce((a, step) => a + (means[STEPS.indexOf(step)] ?? 0), 0);
  console.log(
    `${name} ${set.length} heights: ${STEPS.map((s, i) => `${s} ${show(means[i])}`).join(', ')}; a validator's path ${sum.toFixed(0)} ms`,
  );
}
console.log(`round changes at heights: ${[...roundChanges].sort((a, b) => a - b).join(', ') || 'none'}`);
