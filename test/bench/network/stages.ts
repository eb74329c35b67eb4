/**
 * bench:network's stage breakdown: each node's `tillid_tx_stage_seconds{stage}` histogram
 * (node/mempool/stages.ts) read from /metrics before and after a phase, the difference summed over
 * the nodes, and its p50/p99 estimated from the buckets (linear within a bucket, as Prometheus'
 * histogram_quantile does). Bucket bounds limit the precision: a figure is "within its bucket".
 */
import { TX_STAGES, type TxStage } from '../../../node/mempool/stages.ts';

/** Per stage: the bucket upper bounds (seconds, ascending, +Inf last) and cumulative counts. */
export type StageBuckets = Map<TxStage, { le: number[]; counts: number[] }>;

const LINE = /^tillid_tx_stage_seconds_bucket\{(.*)\} (\S+)$/;

/** Parses one /metrics text. */
export function parseStages(text: string): StageBuckets {
  const out: StageBuckets = new Map();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    ) as { stage?: TxStage; le?: string };
    if (!labels.stage || labels.le === undefined) continue;
    const entry = out.get(labels.stage) ?? { le: [], counts: [] };
    entry.le.push(labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le));
    entry.counts.push(Number(m[2]));
    out.set(labels.stage, entry);
  }
  return out;
}

/** Reads every node's stage histograms now. */
export async function readStages(urls: readonly string[]): Promise<StageBuckets[]> {
  return Promise.all(urls.map(async (url) => parseStages(await (await fetch(`${url}/metrics`)).text())));
}

/** after − before, summed over the nodes. */
export function stageDelta(before: StageBuckets[], after: StageBuckets[]): StageBuckets {
  const out: StageBuckets = new Map();
  after.forEach((node, i) => {
    for (const [stage, { le, counts }] of node) {
      const prior = before[i]?.get(stage)?.counts ?? [];
      const entry = out.get(stage) ?? { le, counts: le.map(() => 0) };
      counts.forEach((c, k) => {
        entry.counts[k] = (entry.counts[k] as number) + c - (prior[k] ?? 0);
      });
      out.set(stage, entry);
    }
  });
  return out;
}

/** The q-quantile (0..1) in seconds, interpolated within its bucket; NaN with no observations. */
export function quantile(b: { le: number[]; counts: number[] }, q: number): number {
  const total = b.counts.at(-1) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  for (let k = 0; k < b.counts.length; k++) {
    const count = b.counts[k] as number;
    if (count < rank) continue;
    const upper = b.le[k] as number;
    const lower = k === 0 ? 0 : (b.le[k - 1] as number);
    // Beyond the last bound: all that is known is "more than it".
    if (!Number.isFinite(upper)) return Number.POSITIVE_INFINITY;
    const below = k === 0 ? 0 : (b.counts[k - 1] as number);
    return lower + ((upper - lower) * (rank - below)) / Math.max(1, count - below);
  }
  return Number.NaN;
}

/** One line per stage: observations, p50 and p99 in ms. */
export function stageLines(delta: StageBuckets): string[] {
  return TX_STAGES.map((stage) => {
    const b = delta.get(stage);
    const n = b?.counts.at(-1) ?? 0;
    if (!b || n === 0) return `${stage.padEnd(13)} -`;
    const last = b.le.at(-2) ?? 0;
    const ms = (q: number) => {
      const v = quantile(b, q);
      return Number.isFinite(v) ? `${(v * 1000).toFixed(0)} ms` : `> ${(last * 1000).toFixed(0)} ms`;
    };
    return `${stage.padEnd(13)} p50 ${ms(0.5).padStart(9)}, p99 ${ms(0.99).padStart(9)} (${n} observed${stage === 'assembly' ? ', per proposal' : ''})`;
  });
}
