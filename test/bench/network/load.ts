/**
 * bench:network's load: phase A, sustained throughput (closed loop, batches round-robin, a cap on
 * what is pending), and phase B, latency at a fixed offered load (open loop). See network.ts for
 * what each phase measures and why its request shape was chosen.
 */
import type { Follower } from './follower.ts';

export interface Load {
  /** Each node's API base URL. */
  readonly urls: readonly string[];
  /** The pre-signed transactions: A takes them from the front, B from `countA` on. */
  readonly txs: readonly string[];
  readonly follower: Follower;
  /** Refusals by error code, over both phases. */
  readonly codes: Map<string, number>;
  readonly log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const countCode = (load: Load, code: string, n = 1) => load.codes.set(code, (load.codes.get(code) ?? 0) + n);

/** POSTs transactions `indices` to a node; resolves to one error code (or undefined) per item. */
async function post(load: Load, node: number, indices: number[], single: boolean) {
  const response = await fetch(
    `${load.urls[node]}${single ? '/v1/transactions' : '/v1/transactions/batch'}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: single
        ? (load.txs[indices[0] as number] as string)
        : `{"transactions":[${indices.map((i) => load.txs[i]).join(',')}]}`,
    },
  );
  const body = (await response.json()) as { code?: string; results?: { code?: string }[] };
  if (single) return [response.status === 202 ? undefined : (body.code ?? `HTTP_${response.status}`)];
  if (!body.results) return indices.map(() => body.code ?? `HTTP_${response.status}`);
  return body.results.map((r) => r.code);
}

export interface PhaseA {
  readonly accepted: number;
  /** The pre-signed supply ran out before the window ended. */
  readonly exhausted: boolean;
  readonly start: number;
  readonly end: number;
  /** When the last request returned. */
  readonly submitEnd: number;
  /** The follower's count when A began. */
  readonly finalizedBefore: number;
}

/**
 * Phase A: for `seconds`, batches go to the next node in turn with fewer than `concurrency`
 * requests outstanding, never more than `maxPending` submitted but not final (in flight included).
 * Items refused with MEMPOOL_FULL are queued again and that sender backs off. Returns when the
 * window has passed.
 */
export async function phaseA(
  load: Load,
  o: { seconds: number; batch: number; concurrency: number; maxPending: number; count: number },
): Promise<PhaseA> {
  const nodes = load.urls.length;
  const finalizedBefore = load.follower.finalized();
  let cursor = 0;
  const retry: number[] = [];
  let accepted = 0;
  let inFlight = 0;
  let exhausted = false;
  const pending = () => inFlight + accepted - (load.follower.finalized() - finalizedBefore);
  const start = performance.now();
  const end = start + o.seconds * 1000;
  const outstanding = load.urls.map(() => 0);
  let turn = 0;
  const nextNode = () => {
    for (let k = 0; k < nodes; k++) {
      const node = (turn + k) % nodes;
      if ((outstanding[node] as number) < o.concurrency) {
        turn = node + 1;
        return node;
      }
    }
    throw new Error('more senders than request slots');
  };
  const sender = async () => {
    while (performance.now() < end) {
      if (pending() + o.batch > o.maxPending) {
        await sleep(5);
        continue;
      }
      const indices = retry.splice(0, o.batch);
      while (indices.length < o.batch && cursor < o.count) indices.push(cursor++);
      if (indices.length === 0) {
        exhausted = true;
        return;
      }
      const node = nextNode();
      outstanding[node] = (outstanding[node] as number) + 1;
      inFlight += indices.length;
      let results: (string | undefined)[];
      try {
        results = await post(load, node, indices, false);
      } catch {
        countCode(load, 'NETWORK_ERROR', indices.length);
        retry.push(...indices);
        await sleep(100);
        continue;
      } finally {
        outstanding[node] = (outstanding[node] as number) - 1;
        inFlight -= indices.length;
      }
      let full = false;
      results.forEach((code, k) => {
        if (code === undefined) accepted++;
        else {
          countCode(load, code);
          if (code === 'MEMPOOL_FULL') {
            retry.push(indices[k] as number);
            full = true;
          }
        }
      });
      if (full) await sleep(100);
    }
  };
  await Promise.all(Array.from({ length: nodes * o.concurrency }, sender));
  const submitEnd = performance.now();
  await sleep(Math.max(0, end - performance.now()));
  return { accepted, exhausted, start, end, submitEnd, finalizedBefore };
}

/** Waits (at most `ms`) until A's accepted transactions are final; returns how many are not. */
export async function drainA(load: Load, a: PhaseA, ms: number): Promise<number> {
  const started = performance.now();
  const final = () => load.follower.finalized() - a.finalizedBefore;
  while (final() < a.accepted && performance.now() - started < ms) await sleep(50);
  return a.accepted - final();
}

export interface PhaseB {
  readonly start: number;
  /** Submission to finality per accepted transaction, sorted; never final counts as Infinity. */
  readonly latencies: number[];
  /** Submission to the node's answer (admitted there) per accepted transaction, sorted. */
  readonly answered: number[];
  /** Submission to its block's proposal (the header's timestamp) per final transaction, sorted. */
  readonly toProposal: number[];
  /** Its block's proposal to this process seeing the block on node 1, per final transaction, sorted. */
  readonly proposalToSeen: number[];
  readonly accepted: number;
  readonly rejected: number;
  /** How long the load was offered, in seconds. */
  readonly offeredFor: number;
}

/**
 * Phase B: `rate` tx/s for `count` transactions from index `first`, open loop (requests leave on
 * schedule whether or not earlier ones have returned), batches of `batch` round-robin (1: single
 * POSTs); then waits (at most `drainMs`) for the accepted ones to be final.
 */
export async function phaseB(
  load: Load,
  o: { rate: number; batch: number; first: number; count: number; drainMs: number },
): Promise<PhaseB> {
  const { finalizedAt } = load.follower;
  const submittedAt = new Map<number, number>();
  const last = o.first + o.count;
  const requests = Math.ceil(o.count / o.batch);
  const perSecond = o.rate / o.batch;
  const acceptedIndices: number[] = [];
  const answered: number[] = [];
  const inFlight: Promise<void>[] = [];
  let rejected = 0;
  let sent = 0;
  const start = performance.now();
  while (sent < requests) {
    const due = Math.min(requests, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
    for (; sent < due; sent++) {
      const indices: number[] = [];
      const from = o.first + sent * o.batch;
      for (let i = from; i < Math.min(last, from + o.batch); i++) indices.push(i);
      const sentAt = performance.now();
      for (const i of indices) submittedAt.set(i, sentAt);
      inFlight.push(
        post(load, sent % load.urls.length, indices, o.batch === 1).then(
          (results) =>
            results.forEach((code, k) => {
              if (code === undefined) {
                acceptedIndices.push(indices[k] as number);
                answered.push(performance.now() - sentAt);
              } else {
                rejected++;
                countCode(load, code);
              }
            }),
          () => {
            rejected += indices.length;
            countCode(load, 'NETWORK_ERROR', indices.length);
          },
        ),
      );
    }
    await sleep(1);
  }
  const offeredFor = (performance.now() - start) / 1000;
  await Promise.all(inFlight);
  const drain = performance.now();
  while (acceptedIndices.some((i) => finalizedAt[i] === 0) && performance.now() - drain < o.drainMs)
    await sleep(50);
  const latencies = acceptedIndices.map((i) => {
    const at = finalizedAt[i] as number;
    return at > 0 ? at - (submittedAt.get(i) as number) : Number.POSITIVE_INFINITY;
  });
  latencies.sort((a, b) => a - b);
  answered.sort((a, b) => a - b);
  const final = acceptedIndices.filter((i) => (finalizedAt[i] as number) > 0);
  const { proposedAt } = load.follower;
  const toProposal = final.map((i) => (proposedAt[i] as number) - (submittedAt.get(i) as number));
  const proposalToSeen = final.map((i) => (finalizedAt[i] as number) - (proposedAt[i] as number));
  toProposal.sort((a, b) => a - b);
  proposalToSeen.sort((a, b) => a - b);
  return {
    start,
    latencies,
    answered,
    toProposal,
    proposalToSeen,
    accepted: acceptedIndices.length,
    rejected,
    offeredFor,
  };
}
