/**
 * Approval policies: who must approve a contract action (activate, amend, terminate) before the
 * chain executes it. A policy is plain JSON, so it can travel inside a signed transaction, be
 * hashed canonically and live in state:
 *
 *   { "signers": 2, "party": "municipality", "role": "centre-chief" }   2 distinct centre chiefs
 *   { "all": [p, …] }                                                   every sub-policy
 *   { "any": [p, …] }                                                   one sub-policy
 *   { "atLeast": 3, "of": [p, …] }                                      3 of the sub-policies
 *
 * Meaning. An approval is one actor (a pseudonymous id) approving as a party in a role. A policy
 * is satisfied when some choice of its leaves that satisfies the tree (every child of an `all`,
 * one child of an `any`, k children of an `atLeast`) can be staffed by *distinct* actors: a leaf
 * `{signers: n, …}` takes n actors who approved in that party and role, and no actor fills two
 * places. So `{all: [1 centre-chief, 1 centre-chief]}` needs two centre chiefs, and one person who
 * approved both as director and as centre chief still counts once. The same actor approving twice
 * counts once.
 *
 * How it is evaluated. Only (party, role) matters for a leaf, so every policy reduces to a
 * disjunctive normal form: a short list of alternatives, each a vector "d[t] actors of type t" —
 * `(1 director) or (2 centre chiefs)` is [{director: 1}, {centre-chief: 2}]. Alternatives that
 * demand more than another in every type are dropped (if the smaller one cannot be met, neither can
 * the larger). An alternative is met when distinct actors can fill its places: a bipartite
 * matching between actors and places, solved as a max-flow over at most 4 types and 15 classes of
 * actors (an actor's class is the set of types it approved in), so the cost does not grow with the
 * number of approvals. Without actors in several roles this is just "count per type"; the flow
 * makes the multi-role case exact instead of greedy. `decodePolicy` refuses policies with more than
 * MAX_POLICY_ALTERNATIVES alternatives, which bounds evaluation for every stored policy.
 *
 * Everything here is a pure function of its arguments; results do not depend on the order of the
 * approvals, and every string produced (errors, descriptions) is independent of input key order.
 */
import type { Json } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';

export { PARTIES, type Party, ROLES, ROLES_OF_PARTY, type Role } from '../../schemas/roles.ts';

import { PARTIES, type Party, ROLES_OF_PARTY, type Role } from '../../schemas/roles.ts';
import { describe } from './policy-text.ts';
import type { ApprovalPolicy, SignersPolicy } from './policy-types.ts';

export type {
  AllOfPolicy,
  AnyOfPolicy,
  ApprovalPolicy,
  AtLeastPolicy,
  SignersPolicy,
} from './policy-types.ts';

/** Policies are described in words by policy-text.ts; `missing` in an evaluation uses the same text. */
export { describe };

/** One actor's approval of an action, as the contracts module has verified it. */
export interface Approval {
  /** Pseudonymous actor id; never a name or CPR number. */
  readonly actor: string;
  readonly party: Party;
  readonly role: Role;
}

export interface PolicyEvaluation {
  readonly satisfied: boolean;
  /** What is still needed, e.g. "1 director or 1 centre-chief (municipality)"; '' when satisfied. */
  readonly missing: string;
  /**
   * The same as a policy: approvals from actors who have not yet approved that would complete it
   * (null when satisfied). In normal form: a leaf, an `all` of leaves, or an `any` of those.
   */
  readonly remaining: ApprovalPolicy | null;
}

export const MAX_POLICY_DEPTH = 8;
export const MAX_POLICY_NODES = 32;
export const MAX_SIGNERS = 16;
/** Bound on the normal form; realistic policies have a handful (the pilot's all have ≤ 2). */
export const MAX_POLICY_ALTERNATIVES = 64;

// ---------------------------------------------------------------------------------------------
// Decoding hostile input

const invalid = (path: string, message: string) =>
  new TillidError('TX_PAYLOAD_INVALID', `${path}: ${message}`, { path });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

const SHAPES = '{signers, party, role}, {all: […]}, {any: […]} or {atLeast, of: […]}';
const FIELDS: Record<'signers' | 'all' | 'any' | 'atLeast', readonly string[]> = {
  signers: ['signers', 'party', 'role'],
  all: ['all'],
  any: ['any'],
  atLeast: ['atLeast', 'of'],
};

/**
 * Validates untrusted input (a transaction payload, a stored template) and returns a fresh policy
 * holding only known fields. Throws TillidError('TX_PAYLOAD_INVALID') whose message and
 * `details.path` name the first problem found, e.g. `policy.any[1].signers: …`.
 */
export function decodePolicy(input: unknown, path = 'policy'): ApprovalPolicy {
  let nodes = 0;
  const walk = (v: unknown, p: string, depth: number): ApprovalPolicy => {
    if (depth > MAX_POLICY_DEPTH) throw invalid(p, `policies nest at most ${MAX_POLICY_DEPTH} deep`);
    if (++nodes > MAX_POLICY_NODES) throw invalid(p, `a policy has at most ${MAX_POLICY_NODES} parts`);
    if (!isPlainObject(v)) throw invalid(p, `must be one of ${SHAPES}`);
    const keys = Object.keys(v);
    const kinds = (['signers', 'all', 'any', 'atLeast'] as const).filter((k) => Object.hasOwn(v, k));
    const kind = kinds[0];
    if (kind === undefined || kinds.length > 1) throw invalid(p, `must be exactly one of ${SHAPES}`);
    // Sorted, so the error names the same field whatever order the keys arrived in.
    const unknown = keys.filter((k) => !FIELDS[kind].includes(k)).sort()[0];
    if (unknown !== undefined) throw invalid(`${p}.${unknown}`, 'unknown field');
    if (kind === 'signers') {
      const { signers, party, role } = v;
      if (!isIntegerIn(signers, 1, MAX_SIGNERS))
        throw invalid(`${p}.signers`, `must be an integer from 1 to ${MAX_SIGNERS}`);
      if (!PARTIES.includes(party as Party))
        throw invalid(`${p}.party`, `must be one of ${PARTIES.join(', ')}`);
      const roles = ROLES_OF_PARTY[party as Party];
      if (!roles.includes(role as Role))
        throw invalid(`${p}.role`, `a ${party} role is one of ${roles.join(', ')}`);
      return { signers: signers as number, party: party as Party, role: role as Role };
    }
    const listField = kind === 'atLeast' ? 'of' : kind;
    const list = v[listField];
    if (!Array.isArray(list) || list.length === 0)
      throw invalid(`${p}.${listField}`, 'must be a non-empty list of policies');
    if (list.length >= MAX_POLICY_NODES)
      throw invalid(`${p}.${listField}`, `a policy has at most ${MAX_POLICY_NODES} parts`);
    const children: ApprovalPolicy[] = [];
    for (let i = 0; i < list.length; i++) children.push(walk(list[i], `${p}.${listField}[${i}]`, depth + 1));
    if (kind === 'all') return { all: children };
    if (kind === 'any') return { any: children };
    if (!isIntegerIn(v.atLeast, 1, children.length))
      throw invalid(`${p}.atLeast`, `must be an integer from 1 to ${children.length} (the length of of)`);
    return { atLeast: v.atLeast as number, of: children };
  };
  const policy = walk(input, path, 1);
  normalForm(policy, path); // refuses policies too complex to evaluate cheaply
  return policy;
}

const isIntegerIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

// ---------------------------------------------------------------------------------------------
// Normal form: alternatives as demand vectors over the (party, role) types

/** Every (party, role) a leaf can name, in a fixed order that all rendering follows. */
const TYPES: readonly { readonly party: Party; readonly role: Role }[] = PARTIES.flatMap((party) =>
  ROLES_OF_PARTY[party].map((role) => ({ party, role })),
);
const TYPE_COUNT = TYPES.length;
const typeIndex = (party: unknown, role: unknown): number =>
  TYPES.findIndex((t) => t.party === party && t.role === role);

/** d[t] = how many distinct actors of type t this alternative needs. */
type Demand = readonly number[];

const total = (d: Demand) => d.reduce((a, b) => a + b, 0);
const dominates = (a: Demand, b: Demand) => a.every((x, i) => x <= (b[i] as number));
const plus = (a: Demand, b: Demand): Demand => a.map((x, i) => x + (b[i] as number));
const compareDemand = (a: Demand, b: Demand): number => {
  const byTotal = total(a) - total(b);
  if (byTotal !== 0) return byTotal;
  for (let i = 0; i < TYPE_COUNT; i++) if (a[i] !== b[i]) return (b[i] as number) - (a[i] as number);
  return 0;
};

/**
 * Keeps the minimal demands (drops any that asks at least as much as another in every type), in a
 * canonical order. Sorting by total first means a dominating demand is always seen before the
 * demands it dominates, so one pass suffices.
 */
function minimal(demands: readonly Demand[], path: string): Demand[] {
  const sorted = [...demands].sort(compareDemand);
  const kept: Demand[] = [];
  for (const d of sorted) {
    if (kept.some((k) => dominates(k, d))) continue;
    kept.push(d);
    if (kept.length > MAX_POLICY_ALTERNATIVES) {
      throw invalid(path, `can be met in more than ${MAX_POLICY_ALTERNATIVES} different ways; simplify it`);
    }
  }
  return kept;
}

const product = (a: readonly Demand[], b: readonly Demand[], path: string): Demand[] =>
  minimal(
    a.flatMap((x) => b.map((y) => plus(x, y))),
    path,
  );

function normalForm(policy: ApprovalPolicy, path: string): Demand[] {
  if ('signers' in policy) {
    const d = new Array<number>(TYPE_COUNT).fill(0);
    const t = typeIndex(policy.party, policy.role);
    if (t < 0) throw invalid(path, `no ${policy.party} acts as ${policy.role}`);
    d[t] = policy.signers;
    return [d];
  }
  if ('all' in policy) {
    let acc: Demand[] = [new Array<number>(TYPE_COUNT).fill(0)];
    policy.all.forEach((c, i) => {
      acc = product(acc, normalForm(c, `${path}.all[${i}]`), path);
    });
    return acc;
  }
  if ('any' in policy)
    return minimal(
      policy.any.flatMap((c, i) => normalForm(c, `${path}.any[${i}]`)),
      path,
    );
  // atLeast k of n: chosen[j] = the ways to meet exactly j of the children seen so far. Meeting
  // more than k is never cheaper, so chosen[k] at the end is the answer (a DP instead of C(n, k)).
  const k = policy.atLeast;
  const chosen: Demand[][] = [[new Array<number>(TYPE_COUNT).fill(0)]];
  policy.of.forEach((c, i) => {
    const child = normalForm(c, `${path}.of[${i}]`);
    for (let j = Math.min(i + 1, k); j >= 1; j--) {
      const fewer = chosen[j - 1];
      if (fewer === undefined) continue;
      chosen[j] = minimal([...(chosen[j] ?? []), ...product(fewer, child, path)], path);
    }
  });
  return chosen[k] ?? [];
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/**
 * Decides whether `approvals` satisfy `policy` and, if not, what is still missing. Approvals naming
 * a (party, role) no policy can use are ignored, so adding an approval never makes a satisfied
 * policy unsatisfied. Expiry is the caller's business: pass only the approvals still valid.
 */
export function evaluate(policy: ApprovalPolicy, approvals: readonly Approval[]): PolicyEvaluation {
  // An actor's class is the bitmask of types it approved in; actors of one class are interchangeable.
  const classOf = new Map<string, number>();
  for (const a of approvals) {
    const t = typeIndex(a.party, a.role);
    if (t < 0 || typeof a.actor !== 'string') continue;
    classOf.set(a.actor, (classOf.get(a.actor) ?? 0) | (1 << t));
  }
  const actorsInClass = new Array<number>(1 << TYPE_COUNT).fill(0);
  for (const mask of classOf.values()) actorsInClass[mask] = (actorsInClass[mask] as number) + 1;

  const shortfalls: Demand[] = [];
  for (const demand of normalForm(policy, 'policy')) {
    const shortfall = unfilled(demand, actorsInClass);
    if (total(shortfall) === 0) return { satisfied: true, missing: '', remaining: null };
    shortfalls.push(shortfall);
  }
  const remaining = asPolicy(minimal(shortfalls, 'policy'));
  return { satisfied: false, missing: describe(remaining), remaining };
}

/**
 * How many places of each type stay empty when distinct actors fill as many places of `demand` as
 * possible: a max-flow source → type (capacity demand[t]) → actor class (if the class includes t)
 * → sink (capacity = actors in the class). Edmonds–Karp with a fixed node order, so the answer is
 * deterministic; its total is the fewest extra actors that would complete this alternative.
 */
function unfilled(demand: Demand, actorsInClass: readonly number[]): Demand {
  const classes = actorsInClass.flatMap((n, mask) => (n > 0 ? [mask] : []));
  // Nodes: 0 source, 1..T types, then one per class, last the sink.
  const size = 2 + TYPE_COUNT + classes.length;
  const sink = size - 1;
  const cap = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const set = (from: number, to: number, c: number) => {
    (cap[from] as number[])[to] = c;
  };
  demand.forEach((d, t) => {
    set(0, 1 + t, d);
  });
  classes.forEach((mask, c) => {
    const node = 1 + TYPE_COUNT + c;
    for (let t = 0; t < TYPE_COUNT; t++) if (mask & (1 << t)) set(1 + t, node, Number.MAX_SAFE_INTEGER);
    set(node, sink, actorsInClass[mask] as number);
  });
  const residual = (a: number, b: number) => (cap[a] as number[])[b] as number;
  for (;;) {
    const parent = new Array<number>(size).fill(-1);
    parent[0] = 0;
    const queue = [0];
    for (let head = 0; head < queue.length && parent[sink] === -1; head++) {
      const u = queue[head] as number;
      for (let v = 0; v < size; v++) {
        if (parent[v] === -1 && residual(u, v) > 0) {
          parent[v] = u;
          queue.push(v);
        }
      }
    }
    if (parent[sink] === -1) break;
    let push = Number.MAX_SAFE_INTEGER;
    for (let v = sink; v !== 0; v = parent[v] as number)
      push = Math.min(push, residual(parent[v] as number, v));
    for (let v = sink; v !== 0; v = parent[v] as number) {
      const u = parent[v] as number;
      set(u, v, residual(u, v) - push);
      set(v, u, residual(v, u) + push);
    }
  }
  // What is left on source → type edges is the unfilled demand.
  return demand.map((_, t) => residual(0, 1 + t));
}

const leafOf = (t: number, signers: number): SignersPolicy => {
  const type = TYPES[t] as (typeof TYPES)[number];
  return { signers, party: type.party, role: type.role };
};

/**
 * Minimal alternative demands as a policy, with what every alternative needs pulled out front:
 * [{director 1, provider 1}, {centre-chief 2, provider 1}] becomes
 * `{all: [{any: [1 director, 2 centre-chiefs]}, 1 provider-representative]}`, which reads as the
 * policy did. Leaves follow the fixed type order, alternatives the canonical demand order.
 */
function asPolicy(demands: readonly Demand[]): ApprovalPolicy {
  const first = demands[0] as Demand;
  const common = first.map((_, t) => Math.min(...demands.map((d) => d[t] as number)));
  const leaves = (d: Demand) => d.flatMap((n, t) => (n > 0 ? [leafOf(t, n)] : []));
  const conjunction = (parts: ApprovalPolicy[]): ApprovalPolicy =>
    parts.length === 1 ? (parts[0] as ApprovalPolicy) : { all: parts };
  if (demands.length === 1) return conjunction(leaves(first));
  // Minimal demands never dominate each other, so no alternative is empty once `common` is removed.
  const choice: ApprovalPolicy = {
    any: demands.map((d) => conjunction(leaves(d.map((n, t) => n - (common[t] as number))))),
  };
  return conjunction([choice, ...leaves(common)]);
}

// ---------------------------------------------------------------------------------------------
// Common policies

/**
 * `k` distinct actors of `party` in `role`, e.g. `kOf(3, 'centre-chief', 'municipality')`. The
 * pilot's "3 of 5" over five named seats is `atLeastOf(3, …five leaves)`; over five interchangeable
 * people in one role it is just this leaf.
 */
export const kOf = (k: number, role: Role, party: Party): ApprovalPolicy =>
  decodePolicy({ signers: k, party, role });

/** Municipality and provider both: the case story's "care home and caseworker sign". */
export const bothParties = (municipalRole: Role = 'caseworker'): ApprovalPolicy =>
  decodePolicy({
    all: [
      { signers: 1, party: 'municipality', role: municipalRole },
      { signers: 1, party: 'provider', role: 'provider-representative' },
    ],
  });

/** The pilot's "1 director or 2 centre chiefs" (of the municipality). */
export const oneDirectorOrTwoCentreChiefs = (): ApprovalPolicy =>
  decodePolicy({
    any: [
      { signers: 1, party: 'municipality', role: 'director' },
      { signers: 2, party: 'municipality', role: 'centre-chief' },
    ],
  });

export const allOf = (...policies: ApprovalPolicy[]): ApprovalPolicy =>
  decodePolicy({ all: policies as unknown as Json[] });
export const anyOf = (...policies: ApprovalPolicy[]): ApprovalPolicy =>
  decodePolicy({ any: policies as unknown as Json[] });
export const atLeastOf = (k: number, ...policies: ApprovalPolicy[]): ApprovalPolicy =>
  decodePolicy({ atLeast: k, of: policies as unknown as Json[] });

/** A policy as the JSON stored in state or carried in a payload. */
export const policyJson = (policy: ApprovalPolicy): Json => policy as unknown as Json;
