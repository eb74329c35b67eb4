/** bench:network's printed report (stdout): the phases' figures, per block per node, per node. */
import { cpus } from 'node:os';
import type { PhaseA, PhaseB } from './load.ts';
import { type StageBuckets, stageLines } from './stages.ts';

type Blocks = readonly { at: number; transactions: number }[];

export interface Results {
  readonly authorities: number;
  readonly verifyWorkers: number;
  readonly blockIntervalMs: number;
  readonly baseline: number;
  readonly presigned: { total: number; signers: number; threads: number; seconds: number };
  readonly a: PhaseA & { seconds: number; batch: number; maxPending: number; finalized: number };
  readonly timeline: number[];
  readonly unfinalizedA: number;
  readonly blocksA: Blocks;
  /** `seconds`: from B's start to the end of its drain, what its CPU figures cover. */
  readonly b?: PhaseB & { rate: number; batch: number; seconds: number };
  readonly blocksB: Blocks;
  readonly drainMs: number;
  readonly codes: ReadonlyMap<string, number>;
  readonly idleSeconds: number;
  readonly idleRss: number[];
  readonly peakRss: number[];
  readonly cpu: { idle: number[]; a: number[]; b: number[] };
  readonly bytes: { a: number[]; b: number[] };
  /** The nodes' tillid_tx_stage_seconds over each phase, summed over the nodes. */
  readonly stages: { a: StageBuckets; b?: StageBuckets };
  readonly self: { a: NodeJS.CpuUsage; b: NodeJS.CpuUsage };
  readonly exits: (string | number | null)[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
const verdict = (ok: boolean, target: string) => (ok ? `meets ${target}` : `MISSES ${target}`);
const interval = (list: Blocks) =>
  list.length > 1
    ? `${(((list.at(-1)?.at ?? 0) - (list[0]?.at ?? 0)) / (list.length - 1)).toFixed(0)} ms`
    : '-';
/** The p-th percentile of sorted values (nearest rank). */
const pct = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

export function report(r: Results): void {
  const out = console.log;
  const { a, b, authorities } = r;
  // Node CPU (ms, summed over the nodes) per finalized transaction, the idle cost subtracted: the
  // figure that stays comparable when other work loads the machine and wall-clock rates do not.
  const idlePerSecond = sum(r.cpu.idle) / Math.max(1, r.idleSeconds);
  const cpuPerFinal = (cpu: number[], seconds: number, finalized: number) =>
    finalized > 0 ? (1000 * (sum(cpu) - idlePerSecond * seconds)) / finalized : Number.NaN;
  const perTx = (v: number) =>
    Number.isFinite(v)
      ? `${v.toFixed(2)} ms summed over the nodes (${(v / authorities).toFixed(2)} ms each), idle cost subtracted`
      : '-';
  const tps = a.finalized / a.seconds;
  out('');
  out(
    `bench:network — ${authorities} authorities, verifyWorkers ${r.verifyWorkers}, blockIntervalMs ${r.blockIntervalMs}, ${cpus().length} CPUs shared by the nodes and this load generator`,
  );
  out(`baseline: single-core Ed25519 verify ${r.baseline.toFixed(0)} ops/s (node:crypto, cached key)`);
  out(
    `pre-signing: ${r.presigned.total} anchors, ${r.presigned.signers} keys, ${r.presigned.threads} threads, ${r.presigned.seconds.toFixed(1)} s (untimed)`,
  );
  out('');
  out(
    `A  sustained finalized      ${tps.toFixed(0).padStart(6)} tx/s over ${a.seconds} s (${(tps / r.baseline).toFixed(2)}x single-core verify) — ${verdict(tps >= 2500, '≥ 2500')}`,
  );
  out(`   per 10 s                 ${r.timeline.map((t) => t.toFixed(0)).join(', ')} tx/s`);
  out(
    `   blocks                   ${r.blocksA.length} in the window, ${r.blocksA.length ? (sum(r.blocksA.map((x) => x.transactions)) / r.blocksA.length).toFixed(0) : 0} tx/block, interval ${interval(r.blocksA)}`,
  );
  out(
    `   submitted                ${a.accepted} accepted (batches of ${a.batch}, ≤ ${a.maxPending} pending), ${r.unfinalizedA} not final ${r.drainMs / 1000} s after the window${a.exhausted ? '; RAN OUT of pre-signed transactions (raise --presign-rate)' : ''}; last request returned ${((a.submitEnd - a.end) / 1000).toFixed(1)} s after the window`,
  );
  out(`   node CPU per final tx    ${perTx(cpuPerFinal(r.cpu.a, a.seconds, a.finalized))}`);
  for (const line of stageLines(r.stages.a)) out(`   stage ${line}`);
  if (b) {
    const [p50, p99] = [pct(b.latencies, 50), pct(b.latencies, 99)];
    const finalizedB = b.latencies.filter((l) => Number.isFinite(l)).length;
    out(
      `B  finality at ${b.rate} tx/s   p50 ${ms(p50)} (${verdict(p50 <= 300, '≤ 300 ms')}), p99 ${ms(p99)} (${verdict(p99 <= 1000, '≤ 1 s')}), max ${ms(b.latencies.at(-1) ?? Number.NaN)}`,
    );
    out(
      `   offered                  ${b.rate} tx/s open loop for ${b.offeredFor.toFixed(1)} s, ${b.batch === 1 ? 'single POSTs' : `batches of ${b.batch}`} round-robin; ${b.accepted} accepted, ${b.rejected} rejected, ${b.latencies.length - finalizedB} not final ${r.drainMs / 1000} s after the load ended`,
    );
    out(`   blocks                   ${r.blocksB.length}, interval ${interval(r.blocksB)}`);
    out(
      `   submit → admitted        p50 ${ms(pct(b.answered, 50))}, p99 ${ms(pct(b.answered, 99))} (the node's answer to the load generator)`,
    );
    out(
      `   submit → proposed        p50 ${ms(pct(b.toProposal, 50))}, p99 ${ms(pct(b.toProposal, 99))}; proposed → seen final p50 ${ms(pct(b.proposalToSeen, 50))}, p99 ${ms(pct(b.proposalToSeen, 99))} (the block's timestamp, same machine clock)`,
    );
    if (r.stages.b) for (const line of stageLines(r.stages.b)) out(`   stage ${line}`);
    out(
      `   node CPU per final tx    ${perTx(cpuPerFinal(r.cpu.b, b.seconds, finalizedB))} (over B and its drain)`,
    );
  }
  if (r.codes.size > 0)
    out(`   rejections               ${[...r.codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  out('');
  perNode(r);
}

/** Per block per node, and the table of each node's RSS, CPU seconds and bytes sent. */
function perNode(r: Results): void {
  const out = console.log;
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(10) : c.padStart(10))).join(' ');
  const perBlock = (total: number, blocksIn: number, unit: number) =>
    blocksIn > 0 && Number.isFinite(total) ? (total / blocksIn / unit).toFixed(unit === 1 ? 3 : 1) : '-';
  const mean = (xs: number[]) => sum(xs) / Math.max(1, xs.length);
  const [inA, inB] = [r.blocksA.length, r.blocksB.length];
  out(
    `per block per node         A: ${perBlock(mean(r.bytes.a), inA, 1024)} KiB sent, ${perBlock(mean(r.cpu.a), inA, 1)} CPU s (${inA} blocks); B: ${perBlock(mean(r.bytes.b), inB, 1024)} KiB sent, ${perBlock(mean(r.cpu.b), inB, 1)} CPU s (${inB} blocks)`,
  );
  out('');
  out(row(['', 'idle RSS', 'peak RSS', 'CPU idle', 'CPU A', 'CPU B', 'sent A', 'sent B', 'exit']));
  const mib = (x: number) => (Number.isFinite(x) ? `${(x / 1024 / 1024).toFixed(1)} MiB` : '-');
  const cells = (i: number | undefined) => {
    const pick = (xs: number[]) => (i === undefined ? sum(xs) : (xs[i] as number));
    return [
      `${pick(r.idleRss).toFixed(0)} MB`,
      `${pick(r.peakRss).toFixed(0)} MB`,
      `${pick(r.cpu.idle).toFixed(1)} s`,
      `${pick(r.cpu.a).toFixed(1)} s`,
      `${pick(r.cpu.b).toFixed(1)} s`,
      mib(pick(r.bytes.a)),
      mib(pick(r.bytes.b)),
    ];
  };
  r.idleRss.forEach((_, i) => {
    out(row([`node ${i + 1}`, ...cells(i), String(r.exits[i])]));
  });
  out(row(['all nodes', ...cells(undefined), '']));
  const self = (u: NodeJS.CpuUsage) => `${((u.user + u.system) / 1e6).toFixed(1)} s`;
  out(row(['bench', '', '', '', self(r.self.a), self(r.self.b), '', '', '']));
  out(
    `   (CPU s = utime + stime over ${r.idleSeconds} s idle, ${r.a.seconds} s of A, ${(r.b?.offeredFor ?? 0).toFixed(0)} s of B plus its drain; idle RSS ${verdict(
      r.idleRss.every((x) => x <= 150),
      '≤ 150 MB per node',
    )})`,
  );
}
