/**
 * Which node a call goes to. Each municipality (CVR) maps to nodes: its own (one node per
 * municipality, `federated`), the shared nodes of a centrally run network (`central`), a mix
 * (`hybrid`: a few authorities, everyone else through shared nodes), or one node (`local`). The
 * router health-checks every node it knows and fails over, in order: the CVR's own nodes, the
 * shared nodes, then every other node of the network — any node of the chain accepts any
 * transaction and gossips it to the rest.
 *
 * Submissions are batched per node (POST /v1/transactions/batch) over a few milliseconds: one
 * request for many callers is what lets a gateway submit for a whole municipality at speed.
 */
import type { Hex } from '../node/protocol/hash.ts';
import { type Transaction, transactionHash } from '../node/protocol/transaction.ts';
import type { GatewayConfig } from './config.ts';
import { GatewayError } from './errors.ts';
import { type NodeFetch, nodeFetch } from './node-fetch.ts';
import type { ProofChecker, Proven } from './proofs/checker.ts';
import { provableRead, withProof } from './proofs/paths.ts';

export interface NodeHealth {
  readonly url: string;
  readonly healthy: boolean;
  readonly checkedAt?: number;
  readonly height?: number;
  readonly reason?: string;
}

export interface NodeStatus {
  readonly chainId: string;
  readonly genesisHash: Hex;
  readonly height: number;
  readonly finalizedHeight?: number;
  readonly [key: string]: unknown;
}

export interface GetOptions {
  /** Why `body` cannot be taken (e.g. a block whose commit certificate fails), or `undefined`. */
  readonly verify?: (body: unknown) => Promise<string | undefined>;
  /** What is read, for the log and metrics (`block`); default the path. */
  readonly what?: string;
}

/** The height a read of one block names (`/v1/blocks/<h>`, `/v1/blocks/<h>/receipts`). */
function blockHeightOf(path: string): number | undefined {
  const m = /^\/v1\/blocks\/(\d+)(?:[/?]|$)/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/** A node this many blocks behind the highest one seen is not where submissions go first. */
const LAGGING_BLOCKS = 10;
const BATCH_MAX = 500;
const BATCH_DELAY_MS = 2;
const REQUEST_TIMEOUT_MS = 5000;

/** Thrown when a node could not be reached at all (as opposed to answering with an error). */
class Unreachable extends Error {}

interface Pending {
  readonly tx: Transaction;
  readonly resolve: (hash: Hex) => void;
  readonly reject: (e: unknown) => void;
}

export class NodeRouter {
  readonly topology: GatewayConfig['topology'];
  readonly #routes: Map<string, readonly string[]>;
  readonly #shared: readonly string[];
  readonly #all: readonly string[];
  readonly #health = new Map<string, NodeHealth>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #status: NodeStatus | undefined;
  readonly #queues = new Map<string, Pending[]>();
  readonly #flushTimers = new Map<string, NodeJS.Timeout>();
  #proofs: ProofChecker | undefined;
  /** How node APIs are called: with the configured node CA for HTTPS nodes (node-fetch.ts). */
  readonly fetch: NodeFetch;

  constructor(
    config: Pick<GatewayConfig, 'topology' | 'municipalities' | 'sharedNodes' | 'healthCheckIntervalMs'>,
    fetch: NodeFetch = nodeFetch(),
  ) {
    this.fetch = fetch;
    this.topology = config.topology;
    this.#routes = new Map(config.municipalities.map((m) => [m.cvr, m.nodes.map(trimSlash)]));
    this.#shared = config.sharedNodes.map(trimSlash);
    this.#all = [
      ...new Set([...config.municipalities.flatMap((m) => m.nodes.map(trimSlash)), ...this.#shared]),
    ];
    this.#intervalMs = config.healthCheckIntervalMs;
    for (const url of this.#all) this.#health.set(url, { url, healthy: true });
  }

  /** Checks every node once, then keeps checking in the background. */
  async start(): Promise<void> {
    await this.checkAll();
    this.#timer = setInterval(() => void this.checkAll(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const t of this.#flushTimers.values()) clearTimeout(t);
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.#all.map((url) => this.#check(url)));
  }

  async #check(url: string): Promise<void> {
    try {
      const response = await this.fetch(`${url}/v1/status`, {
        signal: AbortSignal.timeout(Math.max(500, this.#intervalMs)),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const status = (await response.json()) as NodeStatus;
      if (this.#status && status.genesisHash !== this.#status.genesisHash)
        throw new Error('the node runs another chain (genesis hash differs)');
      this.#status ??= status;
      if (status.height >= (this.#status?.height ?? 0)) this.#status = status;
      this.#health.set(url, { url, healthy: true, checkedAt: Date.now(), height: status.height });
    } catch (e) {
      this.#health.set(url, { url, healthy: false, checkedAt: Date.now(), reason: (e as Error).message });
    }
  }

  /** Whether any node has answered yet (the chain id is known). */
  get reached(): boolean {
    return this.#status !== undefined;
  }

  /** The chain's id and the most recent status seen from any node. */
  get status(): NodeStatus {
    if (!this.#status) throw new GatewayError('NODE_UNAVAILABLE', 'no node of the network has answered yet');
    return this.#status;
  }

  health(): NodeHealth[] {
    return this.#all.map((url) => this.#health.get(url) as NodeHealth);
  }

  /** Whether `cvr` is one of the municipalities this gateway serves (not a provider). */
  isMunicipality(cvr: string): boolean {
    return this.#routes.has(cvr);
  }

  /** The nodes for `cvr` in the order they are tried. */
  candidates(cvr: string): string[] {
    const own = this.#routes.get(cvr) ?? [];
    const order = this.topology === 'local' ? own : [...own, ...this.#shared, ...this.#all];
    return [...new Set(order)];
  }

  #healthy(cvr: string): string[] {
    const list = this.candidates(cvr);
    const up = list.filter((url) => this.#health.get(url)?.healthy !== false);
    return up.length > 0 ? up : list;
  }

  #markDown(url: string, reason: string): void {
    this.#health.set(url, { url, healthy: false, checkedAt: Date.now(), reason });
  }

  /**
   * From now on, reads the nodes can prove (proofs/paths.ts) are taken only with a proof that
   * verifies against the trusted genesis (proofs/checker.ts).
   */
  requireProofs(checker: ProofChecker): void {
    this.#proofs = checker;
  }

  get proofs(): ProofChecker | undefined {
    return this.#proofs;
  }

  /**
   * GET a JSON document from the first node for `cvr` that answers; 404 is `undefined`. With
   * `verify`, an answer it finds a problem with is refused like a proven read that does not verify:
   * counted, logged, the node marked down, the next node asked.
   */
  async get<T>(cvr: string, path: string, o: GetOptions = {}): Promise<T | undefined> {
    const spec = this.#proofs && provableRead(path);
    const height = blockHeightOf(path);
    const urls = this.#healthy(cvr);
    let refused = 0;
    let behind: Proven | undefined;
    let lastProblem = '';
    let pruned: { code?: string; message?: string } | undefined;
    for (const [i, url] of urls.entries()) {
      let response: Response;
      try {
        response = await this.fetch(`${url}${spec ? withProof(path) : path}`, {
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (e) {
        this.#markDown(url, (e as Error).message);
        continue;
      }
      // An honest node proves absence (200, value null); a 404 hiding a value does not verify. Only
      // a block's receipts may be missing from a node that has not reached that block yet.
      if (spec && this.#proofs && (response.ok || (response.status === 404 && spec.kind !== 'receipts'))) {
        const proven = this.#proofs.check(url, spec, await response.json().catch(() => undefined));
        if (typeof proven === 'string') {
          // Never passed on: the next node is asked, and this one waits for the next health check.
          this.#markDown(url, `answered with state that does not verify: ${proven}`);
          refused++;
          lastProblem = proven;
          continue;
        }
        // A proof below the highest height this gateway has seen certified may predate what a
        // caller was just told is final (a node a few blocks behind, say an observer): ask the next
        // node, and take the freshest answer if none is at that height.
        if (spec.kind !== 'receipts' && proven.provenAt.height < this.#proofs.highest) {
          if (!behind || proven.provenAt.height > behind.provenAt.height) behind = proven;
          continue;
        }
        return provenValue(spec.kind, proven) as T | undefined;
      }
      const body = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
      if (response.status === 404) {
        // A node that has not reached a block says 404. When a node further down the list has been
        // seen at that height, ask it: a node stuck behind (or withholding blocks) at the head of
        // the order must not hold up finality and event delivery for everyone it serves.
        if (
          height !== undefined &&
          urls.slice(i + 1).some((u) => (this.#health.get(u)?.height ?? 0) >= height)
        )
          continue;
        return undefined;
      }
      if (response.status >= 500) {
        this.#markDown(url, `HTTP ${response.status}`);
        continue;
      }
      // 410 STATE_PRUNED: this node keeps fewer old state versions (its stateRetention) than the
      // read needs. It is healthy; another node may keep more, so ask it before giving up.
      if (response.status === 410) {
        pruned = body;
        continue;
      }
      if (!response.ok)
        throw GatewayError.fromNode(body.code ?? 'BAD_REQUEST', body.message ?? 'node refused');
      const problem = o.verify ? await o.verify(body) : undefined;
      if (problem !== undefined) {
        this.#proofs?.refuse(url, o.what ?? path, problem);
        this.#markDown(url, `answered with a ${o.what ?? 'document'} that does not verify: ${problem}`);
        refused++;
        lastProblem = problem;
        continue;
      }
      return body as T;
    }
    if (behind && spec) return provenValue(spec.kind, behind) as T | undefined;
    if (pruned && refused === 0)
      throw GatewayError.fromNode(pruned.code ?? 'STATE_PRUNED', pruned.message ?? 'state pruned');
    if (refused > 0)
      throw new GatewayError(
        'CHAIN_UNVERIFIED',
        `no node serving CVR ${cvr} answered with state that verifies (the last: ${lastProblem})`,
      );
    throw new GatewayError('NODE_UNAVAILABLE', `no node serving CVR ${cvr} is reachable`);
  }

  /** Submits a signed transaction through the nodes for `cvr`; resolves with its hash once admitted. */
  submit(cvr: string, tx: Transaction): Promise<Hex> {
    return this.#submitVia(this.#keepingUp(cvr), tx, false);
  }

  /**
   * The healthy nodes for `cvr`, those keeping up with the chain first. A node far behind the
   * others — stuck, or a forged store stuck at its own head — admits against old state and may never
   * pass a transaction on: it is asked last.
   */
  #keepingUp(cvr: string): string[] {
    const list = this.#healthy(cvr);
    const heightOf = (url: string) => this.#health.get(url)?.height ?? 0;
    const top = Math.max(0, ...list.map(heightOf));
    const behind = (url: string) => top - heightOf(url) > LAGGING_BLOCKS;
    return [...list.filter((u) => !behind(u)), ...list.filter(behind)];
  }

  /**
   * Hands `tx` to every node for `cvr` that is not known to be down, for a transaction the node it
   * was submitted through may have dropped. Refusals (a duplicate, mostly) and failures are ignored.
   */
  async broadcast(cvr: string, tx: Transaction): Promise<void> {
    await Promise.all(
      this.#healthy(cvr).map((url) =>
        new Promise<Hex>((resolve, reject) => this.#enqueue(url, { tx, resolve, reject })).catch(
          () => undefined,
        ),
      ),
    );
  }

  async #submitVia(urls: readonly string[], tx: Transaction, retried: boolean): Promise<Hex> {
    const [url, ...rest] = urls;
    if (url === undefined) throw new GatewayError('NODE_UNAVAILABLE', 'no node accepted the transaction');
    try {
      return await new Promise<Hex>((resolve, reject) => this.#enqueue(url, { tx, resolve, reject }));
    } catch (e) {
      if (e instanceof Unreachable) {
        this.#markDown(url, e.message);
        return this.#submitVia(rest, tx, true);
      }
      // A retry can find the transaction already there, gossiped from the node that went down.
      if (retried && e instanceof GatewayError && e.code === 'TX_DUPLICATE') {
        return transactionHash(tx);
      }
      throw e;
    }
  }

  #enqueue(url: string, pending: Pending): void {
    let queue = this.#queues.get(url);
    if (!queue) {
      queue = [];
      this.#queues.set(url, queue);
    }
    queue.push(pending);
    if (queue.length >= BATCH_MAX) {
      clearTimeout(this.#flushTimers.get(url));
      this.#flushTimers.delete(url);
      void this.#flush(url);
    } else if (!this.#flushTimers.has(url)) {
      this.#flushTimers.set(
        url,
        setTimeout(() => {
          this.#flushTimers.delete(url);
          void this.#flush(url);
        }, BATCH_DELAY_MS),
      );
    }
  }

  async #flush(url: string): Promise<void> {
    const batch = this.#queues.get(url) ?? [];
    this.#queues.delete(url);
    if (batch.length === 0) return;
    let response: Response;
    try {
      response = await this.fetch(`${url}/v1/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transactions: batch.map((p) => p.tx) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      for (const p of batch) p.reject(new Unreachable((e as Error).message));
      return;
    }
    const body = (await response.json().catch(() => undefined)) as
      | { results?: { hash?: Hex; code?: string; message?: string }[]; code?: string; message?: string }
      | undefined;
    if (response.status >= 500 || !body) {
      for (const p of batch) p.reject(new Unreachable(`HTTP ${response.status}`));
      return;
    }
    if (!response.ok || !Array.isArray(body.results)) {
      const code = body.code ?? 'BAD_REQUEST';
      for (const p of batch) p.reject(GatewayError.fromNode(code, body.message ?? 'node refused'));
      return;
    }
    batch.forEach((p, i) => {
      const result = body.results?.[i];
      if (result?.hash) p.resolve(result.hash);
      else {
        const code = result?.code ?? 'INTERNAL';
        p.reject(GatewayError.fromNode(code, result?.message ?? 'refused'));
      }
    });
  }
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * A proven value in the shape the plain read has: `null` (proven absent) is a 404, a block's
 * receipts carry the block hash, and an object says where it was proven (`provenAt`).
 */
function provenValue(kind: string, proven: Proven): unknown {
  const { value, provenAt } = proven;
  if (value === null) return undefined;
  if (kind === 'receipts') return { ...(value as object), hash: provenAt.blockHash };
  return typeof value === 'object' && !Array.isArray(value) ? { ...value, provenAt } : value;
}
