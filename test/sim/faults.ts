/**
 * Named fault scenarios for the simulator (on the shared consensus host), the ones operators of
 * permissioned BFT networks report as their worst: a partition healed after rounds diverged, every
 * validator restarted at once, one restarted with an empty data directory, skewed clocks, long
 * asynchrony, one authority down for good. Each is a function of a seed (latencies, drop rates and
 * timings vary) and says when its last fault heals, so a run yields the time to the next decision
 * after healing. Used by test/node/consensus/faults.test.ts and `npm run bench:consensus`.
 */

import { MAX_CLOCK_DRIFT_MS } from '../../node/consensus/tendermint/chain-application.ts';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../../node/consensus/tendermint/engine.ts';
import { Random } from './prng.ts';
import { absentAtEnd, randomNetwork, settled } from './scenario.ts';
import type { Partition, SimulationConfig, SimulationResult } from './simulator.ts';

export interface FaultScenario {
  readonly name: string;
  readonly config: SimulationConfig;
  /** Virtual time at which the last fault is over. */
  readonly healAt: number;
}

type Build = (seed: number) => FaultScenario;

/** Production timeouts and block interval, so recovery times read as they would on a real network. */
function base(seed: number, n: number, gstMs: number, random: Random, timeouts: Timeouts = DEFAULT_TIMEOUTS) {
  return {
    seed,
    authorities: n,
    network: randomNetwork(random, { jitterMs: 40, dropRate: 0.2, duplicateRate: 0.1 }),
    gstMs,
    blockIntervalMs: 500,
    timeouts,
    transactions: { count: 8, fromMs: 0, toMs: gstMs + 1000 },
    maxTimeMs: gstMs + 120_000,
  };
}

/**
 * Stop once settled (every transaction final everywhere, everyone within a height) and every node
 * that is up has committed a height decided after the heal — so every run measures a recovery.
 */
const until = (config: Omit<SimulationConfig, 'until'>, healAt: number): SimulationConfig => {
  const skip = new Set([...(config.byzantine ?? []), ...absentAtEnd(config as SimulationConfig)]);
  let topAtHeal: number | undefined;
  return {
    ...config,
    until: (view) => {
      const present = view.nodes.filter((n) => !skip.has(n.index));
      if (view.now < healAt) return false;
      topAtHeal ??= Math.max(...present.map((n) => n.height));
      return settled(view, skip) && present.every((n) => n.height > (topAtHeal as number));
    },
  };
};

/**
 * A split that is not clean, as `docker network disconnect` makes it: one side's members leave one
 * at a time (a short n−1|1 phase in which the larger side keeps deciding and changing rounds),
 * then the split proper for `lengthMs`, then they return one at a time.
 */
function unevenSplit(n: number, small: number, lengthMs: number): Build {
  return (seed) => {
    const random = new Random(seed ^ 0x2545f491);
    const order = random.shuffle(Array.from({ length: n }, (_, i) => i));
    const side = order.slice(0, small);
    const rest = order.slice(small);
    const first = side[0] as number;
    const partitions: Partition[] = [];
    let t = Math.round(random.between(500, 2000));
    const step = Math.round(random.between(200, 1500));
    // Leaving one at a time: the first leaver alone, then the whole side.
    partitions.push({ fromMs: t, toMs: t + step, groups: [[first], order.filter((i) => i !== first)] });
    t += step;
    partitions.push({ fromMs: t, toMs: t + lengthMs, groups: [side, rest] });
    t += lengthMs;
    // Returning one at a time: the first returner rejoins, the others are still apart.
    const last = side.slice(1);
    partitions.push({
      fromMs: t,
      toMs: t + step,
      groups: [last, order.filter((i) => !last.includes(i))],
    });
    t += step;
    const config = until({ ...base(seed, n, t, random), partitions }, t);
    return { name: `split ${n - small}|${small} ${lengthMs / 1000} s`, config, healAt: t };
  };
}

const allRestart: Build = (seed) => {
  const random = new Random(seed ^ 0x68e31da4);
  const at = Math.round(random.between(1000, 4000));
  const crashes = [0, 1, 2, 3].map((node) => ({
    node,
    atMs: at + Math.round(random.between(0, 200)),
    restartAtMs: at + Math.round(random.between(1000, 5000)),
  }));
  const healAt = Math.max(...crashes.map((c) => c.restartAtMs));
  return {
    name: 'all restarted',
    config: until({ ...base(seed, 4, healAt, random), crashes }, healAt),
    healAt,
  };
};

const emptyDataDir: Build = (seed) => {
  const random = new Random(seed ^ 0x1b873593);
  const atMs = Math.round(random.between(1500, 5000));
  const crash = {
    node: random.int(4),
    atMs,
    restartAtMs: atMs + Math.round(random.between(200, 4000)),
    emptyDataDir: true,
  };
  const config = until({ ...base(seed, 4, crash.restartAtMs, random), crashes: [crash] }, crash.restartAtMs);
  return { name: 'empty data dir', config, healAt: crash.restartAtMs };
};

/** One authority restarted with its chain but without its signed-vote log (restored from a backup). */
const lostVoteLog: Build = (seed) => {
  const random = new Random(seed ^ 0x27d4eb2f);
  const atMs = Math.round(random.between(1500, 5000));
  const crash = {
    node: random.int(4),
    atMs,
    // Back quickly, while the height it crashed in may still be open: the case the guard is for.
    restartAtMs: atMs + Math.round(random.between(50, 1500)),
    lostVoteLog: true,
  };
  const config = until({ ...base(seed, 4, crash.restartAtMs, random), crashes: [crash] }, crash.restartAtMs);
  return { name: 'vote log lost', config, healAt: crash.restartAtMs };
};

/** Clocks up to the allowed drift apart: proposals from a fast clock must still be accepted. */
const clockSkew: Build = (seed) => {
  const random = new Random(seed ^ 0x85ebca6b);
  const bound = MAX_CLOCK_DRIFT_MS / 2;
  const clockSkewMs = random.shuffle([bound, -bound, Math.round(random.between(-bound, bound)), 0]);
  const gst = Math.round(random.between(1000, 3000));
  return {
    name: 'clock skew',
    config: until({ ...base(seed, 4, gst, random), clockSkewMs }, gst),
    healAt: gst,
  };
};

/** A minute of asynchrony: heavy loss and shifting partitions until GST. */
const longAsynchrony: Build = (seed) => {
  const random = new Random(seed ^ 0xcc9e2d51);
  const gstMs = 60_000;
  const partitions: Partition[] = [];
  for (let t = 0; t < gstMs; t += 3000) {
    const order = random.shuffle([0, 1, 2, 3]);
    const cut = 1 + random.int(3);
    partitions.push({ fromMs: t, toMs: t + 3000, groups: [order.slice(0, cut), order.slice(cut)] });
  }
  const b = base(seed, 4, gstMs, random);
  const config = until({ ...b, network: { ...b.network, dropRate: 0.3 }, partitions }, gstMs);
  return { name: 'long asynchrony', config, healAt: gstMs };
};

/** One authority down for good, with production timeouts: the cost of its proposer turns. */
const oneDown: Build = (seed) => {
  const random = new Random(seed ^ 0x9e3779b9);
  const b = base(seed, 4, 0, random, DEFAULT_TIMEOUTS);
  const config = until(
    {
      ...b,
      network: { ...b.network, dropRate: 0, duplicateRate: 0 },
      downFromStart: [random.int(4)],
      transactions: { count: 40, fromMs: 0, toMs: 60_000 },
      maxTimeMs: 600_000,
    },
    0,
  );
  return { name: 'one down for good', config, healAt: 0 };
};

export const FAULT_SCENARIOS: readonly Build[] = [
  unevenSplit(4, 2, 2_000),
  unevenSplit(4, 2, 45_000),
  unevenSplit(7, 3, 2_000),
  unevenSplit(7, 3, 45_000),
  allRestart,
  emptyDataDir,
  lostVoteLog,
  clockSkew,
  longAsynchrony,
  oneDown,
];

/**
 * Virtual ms from the heal to the first height decided after it being committed at every honest
 * node that is up: the time a healed network takes to decide again. Infinity if it never did.
 */
export function recoveryMs(result: SimulationResult, healAt: number): number {
  const byzantine = new Set(result.config.byzantine ?? []);
  const absent = absentAtEnd(result.config);
  const nodes = result.nodes.filter((n) => !byzantine.has(n.index) && !absent.has(n.index));
  let top = 0;
  for (const n of nodes) for (const [h, t] of n.committedAt) if (t <= healAt && h > top) top = h;
  let worst = 0;
  for (const n of nodes) {
    const t = n.committedAt.get(top + 1);
    if (t === undefined) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, t - healAt);
  }
  return Math.max(0, worst);
}
