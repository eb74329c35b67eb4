/**
 * From measured windows to a municipality's year: per-node unit costs (per block, per transaction
 * of each class, per second of background), then the model's yearly counts times those costs, and
 * kroner at the assumed prices. What is measured and what is projected is kept apart: `units`
 * are measured; `yearFor` multiplies them out; `projectTo` extends a per-block figure to more
 * authorities by a straight line through the federated sizes measured.
 */
import {
  type Assumptions,
  CLASSES,
  type Counts,
  municipalities,
  nationalCounts,
  productionBlocksPerYear,
  submittedTotal,
  type TxClass,
} from './model.ts';
import type { TopologyRun, Window } from './run.ts';

export const YEAR_SECONDS = 365 * 86_400;

export interface Unit {
  cpuSeconds: number;
  diskBytes: number;
  bytesSent: number;
}

export interface Units {
  readonly topology: string;
  readonly authorities: number;
  /** Per node, per block with nothing in it (mean over nodes). */
  readonly block: Unit;
  /** Per node, per transaction (reads: per read, on the node serving it). */
  readonly perClass: Record<TxClass, Unit>;
  /** Per node, per second with no block (production empty-block interval). */
  readonly background: { cpuSeconds: number; bytesSent: number; rssMb: number };
  readonly peakRssMb: number;
  /**
   * Store growth per node per item (submitted transaction or payment decision), all-in: the run's
   * total growth of the data directory — its blocks, indexes and LevelDB's own files included —
   * over its items. Per window `du` is dominated by LevelDB compaction (a window can shrink the
   * store), so disk is taken over the whole year instead.
   */
  readonly diskPerItem: number;
}

/**
 * central's gateway, measured on its own process (national/gateway.ts): per second of background,
 * per submission (any class: verify the caller, sign, submit) and per read served, over the
 * background; its disk is its audit and access logs.
 */
export interface GatewayUnits {
  readonly background: { cpuSeconds: number; bytesSent: number; rssMb: number };
  readonly perSubmission: Unit;
  readonly perRead: Unit;
  readonly peakRssMb: number;
  /** Calls per measured window. */
  readonly calls: number;
}

export const diskPerItemOf = (run: Pick<TopologyRun, 'diskGrowthBytes' | 'counts'>): number =>
  mean(run.diskGrowthBytes) / (submittedTotal(run.counts) + run.counts.decision);

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

export function unitsOf(run: TopologyRun): Units {
  const n = run.authorities;
  // A window whose bytes are unknown (a peer connection closed inside it) is left out of the
  // bytes figures only, together with its blocks and its count.
  const known = (field: keyof Unit) => (w: Window) => w.nodes.every((d) => Number.isFinite(d[field]));
  const windows = (kind: string, field: keyof Unit) =>
    run.windows.filter((w) => w.kind === kind).filter(known(field));
  const perNode = (field: keyof Unit, ws: Window[]) =>
    Array.from({ length: n }, (_, i) => sum(ws.map((w) => w.nodes[i]?.[field] ?? 0)));
  const FIELDS = ['cpuSeconds', 'diskBytes', 'bytesSent'] as const;
  const block = {} as Unit;
  for (const f of FIELDS) {
    const idle = windows('idle', f);
    block[f] = mean(perNode(f, idle)) / sum(idle.map((w) => w.blocks));
  }
  const perClass = {} as Record<TxClass, Unit>;
  for (const k of CLASSES) {
    const unit = {} as Unit;
    for (const f of FIELDS) {
      const ws = windows(k, f);
      const count = sum(ws.map((w) => w.count));
      const blocks = sum(ws.map((w) => w.blocks));
      // What the class added over the blocks the clock would have made anyway.
      const marginal = perNode(f, ws).map((x) => x - blocks * block[f]);
      // A read costs only the node that serves it: total over nodes, per read.
      unit[f] = count === 0 ? 0 : (k === 'read' ? sum(marginal) : mean(marginal)) / count;
    }
    perClass[k] = unit;
  }
  return {
    topology: run.topology,
    authorities: n,
    block,
    perClass,
    background: {
      cpuSeconds: mean(run.background.cpuPerSecond),
      bytesSent: mean(run.background.bytesPerSecond),
      rssMb: mean(run.background.rssMb),
    },
    peakRssMb: Math.max(...run.peakRssMb),
    diskPerItem: diskPerItemOf(run),
  };
}

/**
 * Per-block and background figures for `n` authorities: a least-squares line through the
 * federated runs (votes and commit certificates grow with the authorities); with one run, that
 * run's figures unchanged (said so in the report). Per-transaction costs are the largest run's.
 */
export function projectTo(federated: Units[], n: number): Units & { projected: boolean } {
  const sorted = [...federated].sort((x, y) => x.authorities - y.authorities);
  const largest = sorted.at(-1) as Units;
  if (sorted.length < 2) return { ...largest, projected: false };
  const fit = (get: (u: Units) => number) => {
    const xs = sorted.map((u) => u.authorities);
    const ys = sorted.map(get);
    const mx = mean(xs);
    const my = mean(ys);
    const slope =
      sum(xs.map((x, i) => (x - mx) * ((ys[i] as number) - my))) / sum(xs.map((x) => (x - mx) ** 2));
    return Math.max(0, my + slope * (n - mx));
  };
  return {
    ...largest,
    topology: `federated-${n}`,
    authorities: n,
    block: {
      cpuSeconds: fit((u) => u.block.cpuSeconds),
      diskBytes: fit((u) => u.block.diskBytes),
      bytesSent: fit((u) => u.block.bytesSent),
    },
    background: {
      cpuSeconds: fit((u) => u.background.cpuSeconds),
      bytesSent: fit((u) => u.background.bytesSent),
      rssMb: fit((u) => u.background.rssMb),
    },
    peakRssMb: fit((u) => u.peakRssMb),
    projected: true,
  };
}

export interface Year {
  cpuHours: number;
  peakRssMb: number;
  diskGb: number;
  egressGb: number;
  blocks: number;
}

/** One node's year: `chainCounts` are what its chain carries, `reads` what it serves. */
export function yearFor(a: Assumptions, u: Units, chainCounts: Counts, reads: number): Year {
  const blocks = productionBlocksPerYear(a, submittedTotal(chainCounts));
  const total = (field: keyof Unit) =>
    blocks * u.block[field] +
    CLASSES.reduce(
      (s, k) => s + (k === 'read' ? reads : chainCounts[k]) * Math.max(0, u.perClass[k][field]),
      0,
    );
  return {
    cpuHours: (u.background.cpuSeconds * YEAR_SECONDS + total('cpuSeconds')) / 3600,
    peakRssMb: u.peakRssMb,
    diskGb: (u.diskPerItem * (submittedTotal(chainCounts) + chainCounts.decision)) / 1e9,
    egressGb: (u.background.bytesSent * YEAR_SECONDS + total('bytesSent')) / 1e9,
    blocks,
  };
}

/** The gateway's year serving `submitted` submissions and `reads` reads. */
export function gatewayYearFor(g: GatewayUnits, submitted: number, reads: number): Year {
  const total = (field: keyof Unit) =>
    submitted * Math.max(0, g.perSubmission[field]) + reads * Math.max(0, g.perRead[field]);
  return {
    cpuHours: (g.background.cpuSeconds * YEAR_SECONDS + total('cpuSeconds')) / 3600,
    peakRssMb: g.peakRssMb,
    diskGb: total('diskBytes') / 1e9,
    egressGb: (g.background.bytesSent * YEAR_SECONDS + total('bytesSent')) / 1e9,
    blocks: 0,
  };
}

export interface Kroner {
  /** Paying for measured use only: CPU hours, the year's disk growth kept a year, egress. */
  byUse: number;
  /** The smallest host a node runs on, for a year, plus the year's egress. */
  onMinimumHost: number;
}

export function kroner(a: Assumptions, y: Year, nodes = 1): Kroner {
  const p = a.prices;
  const disk = y.diskGb * 12 * p.gbDiskMonthKroner;
  const egress = y.egressGb * p.gbEgressKroner;
  const host =
    a.minimumHost.vcpus * 8760 * p.vcpuHourKroner + a.minimumHost.diskGb * 12 * p.gbDiskMonthKroner;
  return {
    byUse: nodes * (y.cpuHours * p.vcpuHourKroner + disk + egress),
    onMinimumHost: nodes * (Math.max(host, y.cpuHours * p.vcpuHourKroner + disk) + egress),
  };
}

export interface MunicipalityYear extends Year {
  /** central with its gateway: the gateway's part of the figures (already in the totals). */
  readonly gateway?: Year;
  readonly sizeClass: string;
  readonly population: number;
  readonly children: number;
  readonly submitted: number;
  readonly kroner: Kroner;
}

/**
 * A municipality of each size class, for one topology:
 * - `local`: its own chain, carrying only its own workload;
 * - `federated`: its own node, carrying the whole country's chain, serving its own reads;
 * - `central`: a share of the operator's `sharedNodes` (each carrying the country's chain and a
 *   1/sharedNodes part of the country's reads) and, given `gateway`, of the one gateway every
 *   municipality's calls go through (all the country's submissions and reads), in proportion to
 *   its population — the model's rule for everything shared.
 */
export function perMunicipality(
  a: Assumptions,
  kind: 'local' | 'federated' | 'central',
  u: Units,
  sharedNodes = 4,
  gateway?: GatewayUnits,
): MunicipalityYear[] {
  const nation = nationalCounts(a);
  const population = municipalities(a).reduce((s, m) => s + m.count * m.population, 0);
  return municipalities(a).map((m) => {
    const base = {
      sizeClass: m.name,
      population: m.population,
      children: m.children,
      submitted: submittedTotal(m.counts),
    };
    if (kind === 'local') {
      const y = yearFor(a, u, m.counts, m.counts.read);
      return { ...base, ...y, kroner: kroner(a, y) };
    }
    if (kind === 'federated') {
      const y = yearFor(a, u, nation, m.counts.read);
      return { ...base, ...y, kroner: kroner(a, y) };
    }
    const node = yearFor(a, u, nation, nation.read / sharedNodes);
    const share = m.population / population;
    const gw = gateway ? gatewayYearFor(gateway, submittedTotal(nation), nation.read) : undefined;
    const gwPart: Year | undefined = gw && {
      cpuHours: gw.cpuHours * share,
      peakRssMb: gw.peakRssMb,
      diskGb: gw.diskGb * share,
      egressGb: gw.egressGb * share,
      blocks: 0,
    };
    const y: Year = {
      cpuHours: node.cpuHours * sharedNodes * share + (gwPart?.cpuHours ?? 0),
      // Memory is not shared out: each of the operator's nodes needs its own.
      peakRssMb: node.peakRssMb,
      diskGb: node.diskGb * sharedNodes * share + (gwPart?.diskGb ?? 0),
      egressGb: node.egressGb * sharedNodes * share + (gwPart?.egressGb ?? 0),
      blocks: node.blocks,
    };
    const k = kroner(a, node, sharedNodes);
    // The gateway is one more host of the operator's, priced like a node's.
    const kg = gw ? kroner(a, gw) : { byUse: 0, onMinimumHost: 0 };
    return {
      ...base,
      ...y,
      ...(gwPart ? { gateway: gwPart } : {}),
      kroner: {
        byUse: (k.byUse + kg.byUse) * share,
        onMinimumHost: (k.onMinimumHost + kg.onMinimumHost) * share,
      },
    };
  });
}
