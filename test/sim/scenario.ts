/**
 * Random fault scenarios for the simulator and the properties every run must satisfy. Shared by
 * the property tests and `npm run bench:consensus`, so both check exactly the same thing.
 */
import type { Timeouts } from '../../node/consensus/tendermint/engine.ts';
import {
  type ConsensusMessage,
  proposalSignatureValid,
  senderOf,
  voteSignatureValid,
} from '../../node/consensus/tendermint/messages.ts';
import type { Hex } from '../../node/protocol/hash.ts';
import { Random } from './prng.ts';
import {
  type NetworkConditions,
  type SimulationConfig,
  type SimulationResult,
  type SimulationView,
  simulate,
} from './simulator.ts';

export interface ScenarioOptions {
  readonly authorities?: number;
  /** How many authorities equivocate; keep it at most f = (n - 1) / 3. */
  readonly byzantine?: number;
  /** Crash one honest authority before GST and restart it later. */
  readonly crash?: boolean;
  /** Up to this many network partitions before GST. */
  readonly partitions?: number;
  readonly transactions?: number;
}

/** Timeouts scaled to the simulated latencies (tens of ms), so rounds turn over quickly. */
export const SIM_TIMEOUTS: Timeouts = {
  propose: { baseMs: 400, perRoundMs: 100 },
  prevote: { baseMs: 200, perRoundMs: 100 },
  precommit: { baseMs: 200, perRoundMs: 100 },
};

/**
 * The run is over when every transaction is final at every honest node, every honest node has
 * decided a block by consensus since it last (re)started, and all honest nodes are within one
 * height of each other.
 */
export function settled(view: SimulationView, byzantine: ReadonlySet<number>): boolean {
  if (view.transactionsSubmitted < view.transactionsTotal) return false;
  const honest = view.nodes.filter((n) => !byzantine.has(n.index));
  const top = Math.max(...honest.map((n) => n.height));
  return honest.every(
    (n) =>
      n.finalTransactions === view.transactionsTotal &&
      n.consensusDecisionsSinceRestart > 0 &&
      n.height >= top - 1,
  );
}

/** Authorities that are down at the end of the run for good: left out of liveness and recovery. */
export function absentAtEnd(config: SimulationConfig): Set<number> {
  const absent = new Set(config.downFromStart ?? []);
  for (const c of config.crashes ?? []) if (!Number.isFinite(c.restartAtMs)) absent.add(c.node);
  return absent;
}

/**
 * Random network conditions: latency 5–30 ms and jitter, drop and duplicate rates up to the given
 * maxima, drawn from `random` in that order (so a seed gives the same network).
 */
export function randomNetwork(
  random: Random,
  max: { jitterMs: number; dropRate: number; duplicateRate: number },
): NetworkConditions {
  return {
    latencyMs: Math.round(random.between(5, 30)),
    jitterMs: Math.round(random.between(0, max.jitterMs)),
    dropRate: random.between(0, max.dropRate),
    duplicateRate: random.between(0, max.duplicateRate),
  };
}

export function randomScenario(seed: number, options: ScenarioOptions = {}): SimulationConfig {
  const random = new Random(seed ^ 0x5bd1e995);
  const n = options.authorities ?? 4;
  const indexes = Array.from({ length: n }, (_, i) => i);
  const shuffled = random.shuffle(indexes);
  const byzantine = shuffled.slice(0, options.byzantine ?? 0);
  const honest = shuffled.slice(byzantine.length);
  const gstMs = Math.round(random.between(3000, 6000));
  const partitions = Array.from({ length: random.int((options.partitions ?? 2) + 1) }, () => {
    const fromMs = Math.round(random.between(0, gstMs - 500));
    const order = random.shuffle(indexes);
    const cut = 1 + random.int(n - 1);
    return {
      fromMs,
      toMs: fromMs + Math.round(random.between(300, 3000)),
      groups: [order.slice(0, cut), order.slice(cut)],
    };
  });
  const crashes = [];
  if (options.crash) {
    const atMs = Math.round(random.between(200, gstMs - 500));
    crashes.push({
      node: random.pick(honest),
      atMs,
      restartAtMs: atMs + Math.round(random.between(300, 4000)),
    });
  }
  const byzantineSet = new Set(byzantine);
  const network = randomNetwork(random, { jitterMs: 50, dropRate: 0.3, duplicateRate: 0.2 });
  return {
    seed,
    authorities: n,
    byzantine,
    network,
    gstMs,
    partitions,
    crashes,
    transactions: { count: options.transactions ?? 12, fromMs: 0, toMs: gstMs + 1000 },
    blockIntervalMs: 100,
    timeouts: SIM_TIMEOUTS,
    // Compressed like SIM_TIMEOUTS: stall checks and the block-request deadline at this network's
    // scale (the fault scenarios run production's).
    tickIntervalMs: 500,
    syncTimeoutMs: 4 * (network.latencyMs + network.jitterMs) + 50,
    maxTimeMs: gstMs + 60_000,
    until: (view) => settled(view, byzantineSet),
  };
}

/** Why a pair of messages is not proof of equivocation, or undefined when it is. */
export function evidenceProblem(first: ConsensusMessage, second: ConsensusMessage): string | undefined {
  if (senderOf(first) !== senderOf(second)) return 'different authorities';
  if (first.kind === 'vote' && second.kind === 'vote') {
    const [a, b] = [first.vote, second.vote];
    if (a.chainId !== b.chainId || a.height !== b.height || a.round !== b.round || a.type !== b.type)
      return 'votes for different slots';
    if (a.blockHash === b.blockHash) return 'the same vote twice';
    if (!voteSignatureValid(a) || !voteSignatureValid(b)) return 'a vote is not validly signed';
    return undefined;
  }
  if (first.kind === 'proposal' && second.kind === 'proposal') {
    const [a, b] = [first.proposal, second.proposal];
    if (a.chainId !== b.chainId || a.height !== b.height || a.round !== b.round)
      return 'proposals for different slots';
    if (!proposalSignatureValid(a) || !proposalSignatureValid(b)) return 'a proposal is not validly signed';
    if (a.signature === b.signature) return 'the same proposal twice';
    return undefined;
  }
  return 'a vote and a proposal';
}

/** Everything wrong with a finished run; empty when safety, liveness, recovery and evidence hold. */
export function propertyViolations(result: SimulationResult): string[] {
  const problems: string[] = [];
  const byzantine = new Set(result.config.byzantine ?? []);
  const honest = result.nodes.filter((n) => !byzantine.has(n.index));
  const absent = absentAtEnd(result.config);
  const present = honest.filter((n) => !absent.has(n.index));
  const byzantineKeys = new Set(result.nodes.filter((n) => byzantine.has(n.index)).map((n) => n.publicKey));

  // (a) Safety: no two honest nodes finalize different blocks at a height, neither in what they
  // decided nor in what their stores hold.
  const decided = new Map<number, { hash: Hex; node: number }>();
  for (const node of honest) {
    for (const [height, hash] of node.decisions) {
      const other = decided.get(height);
      if (!other) decided.set(height, { hash, node: node.index });
      else if (other.hash !== hash)
        problems.push(
          `safety: nodes ${other.node} and ${node.index} finalized different blocks at height ${height}`,
        );
    }
  }
  for (const node of honest) {
    (result.storedChains[node.index] ?? []).forEach((hash, i) => {
      const other = decided.get(i + 1);
      if (other && other.hash !== hash)
        problems.push(`safety: node ${node.index} stores another block at ${i + 1}`);
    });
  }

  // (b) Liveness: once the network heals every transaction becomes final everywhere.
  if (!result.stoppedEarly) {
    const final = present.map((n) => `${n.index}:${n.finalTransactions}@h${n.height}`).join(' ');
    problems.push(
      `liveness: not settled by ${result.config.maxTimeMs} ms (GST ${result.config.gstMs} ms); ` +
        `final txs per node of ${result.transactionsTotal}: ${final}`,
    );
  }

  // (a') No honest authority signs two different messages for one slot, not even after losing its
  // data directory (then nobody may ever see both, so the evidence check below cannot tell).
  for (const node of honest)
    if (node.doubleSigned > 0)
      problems.push(`safety: node ${node.index} signed twice in ${node.doubleSigned} slot(s)`);

  // (c) A crashed and restarted node rejoins: it catches up and decides by consensus again.
  const top = Math.max(...present.map((n) => n.height));
  for (const node of present) {
    if (node.restarts === 0) continue;
    if (node.height < top - 1)
      problems.push(`recovery: node ${node.index} is at ${node.height}, others at ${top}`);
    if (node.consensusDecisionsSinceRestart === 0)
      problems.push(`recovery: node ${node.index} never decided by consensus after restarting`);
  }

  // (d) Evidence: only true equivocations, only by the Byzantine, and every equivocator is caught.
  const accused = new Set<Hex>();
  // Every honest node reports the same pairs: judge each pair once (it is signature checks).
  const judged = new Map<string, string | undefined>();
  const signatureOf = (m: ConsensusMessage) => (m.kind === 'vote' ? m.vote.signature : m.proposal.signature);
  for (const node of honest) {
    for (const { first, second } of node.evidence) {
      const pair = `${signatureOf(first)}/${signatureOf(second)}`;
      if (!judged.has(pair)) judged.set(pair, evidenceProblem(first, second));
      const why = judged.get(pair);
      if (why) problems.push(`evidence: node ${node.index} reported a non-equivocation (${why})`);
      const who = senderOf(first);
      if (!byzantineKeys.has(who))
        problems.push(`evidence: node ${node.index} accused honest ${who.slice(0, 12)}`);
      accused.add(who);
    }
  }
  for (const key of byzantineKeys) {
    if (!accused.has(key)) problems.push(`evidence: equivocator ${key.slice(0, 12)} was never reported`);
  }
  return problems;
}

/** Runs one random scenario and checks it. */
export async function checkSeed(
  seed: number,
  options: ScenarioOptions = {},
): Promise<{ problems: string[]; result: SimulationResult }> {
  const result = await simulate(randomScenario(seed, options));
  return { problems: propertyViolations(result), result };
}
