/**
 * Reads and submissions over a node's HTTP API (`node/api`). Every refusal becomes a
 * `TillidClientError` carrying the node's stable code, so callers branch on `code`, never on text.
 */

import { describeTlsError } from '../node/api/tls-errors.ts';
import type { Hex } from '../node/protocol/hash.ts';
import type { Transaction } from '../node/protocol/transaction.ts';

/** `GET /v1/transactions/:hash` (node/api/schemas.ts `transactionViewSchema`). */
export interface TransactionView {
  readonly hash: Hex;
  readonly status: 'pending' | 'finalized' | 'rejected';
  readonly height?: number;
  readonly index?: number;
  readonly code?: string;
  readonly message?: string;
}

/** `GET /v1/blocks/:height/receipts`. */
export interface BlockReceipts {
  readonly height: number;
  readonly hash: Hex;
  readonly receipts: readonly { hash: Hex; index: number; code: string; message?: string }[];
}

/** `GET /v1/status` (the fields a client uses; the node sends more). */
export interface NodeStatus {
  readonly chainId: string;
  readonly genesisHash: Hex;
  readonly height: number;
  readonly finalizedHeight: number;
  readonly clock?: { kind: string; businessDate?: string };
  readonly [field: string]: unknown;
}

export interface EventPage {
  readonly events: readonly { id: string; type: string; height: number; [field: string]: unknown }[];
  readonly next: number;
  readonly head: number;
}

/**
 * Codes beyond the node's: `NODE_UNREACHABLE` (no HTTP answer), `UNEXPECTED_RESPONSE` (an answer
 * that is not the API's), `WAIT_TIMEOUT` (not final within the wait). A transaction the chain
 * refused in a block carries the module's code with `rejected: true`.
 */
export class TillidClientError extends Error {
  readonly code: string;
  /** HTTP status, when the node answered. */
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** True when the transaction was included in a block and refused by its module. */
  readonly rejected: boolean;
  readonly hash: Hex | undefined;
  constructor(
    code: string,
    message: string,
    extra: { status?: number; details?: Record<string, unknown>; rejected?: boolean; hash?: Hex } = {},
  ) {
    super(`${code}: ${message}`);
    this.name = 'TillidClientError';
    this.code = code;
    this.status = extra.status;
    this.details = extra.details;
    this.rejected = extra.rejected ?? false;
    this.hash = extra.hash;
  }
}

export interface ClientOptions {
  /** Headers for every request, e.g. a bearer token for a gateway in front of the node. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How often `waitFinal` asks; default 100 ms. */
  readonly pollMs?: number;
  /** Per-request timeout; default 30 s. */
  readonly requestTimeoutMs?: number;
}

export interface WaitOptions {
  /** Give up after this long; default 60 s. */
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// biome-ignore lint/suspicious/noExplicitAny: read models are the node's JSON; callers narrow them.
type Json = any;

export class TillidClient {
  readonly url: string;
  readonly #options: ClientOptions;

  constructor(url: string, options: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#options = options;
  }

  async #request(method: 'GET' | 'POST', path: string, body?: unknown, allow404 = false): Promise<Json> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...this.#options.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new TillidClientError(
        'NODE_UNREACHABLE',
        `${method} ${this.url}${path}: ${describeTlsError(e, 'tillid --ca <file>, or NODE_EXTRA_CA_CERTS', false).message}`,
      );
    }
    if (allow404 && response.status === 404) return undefined;
    const text = await response.text();
    let parsed: Json;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new TillidClientError(
        'UNEXPECTED_RESPONSE',
        `${method} ${path}: HTTP ${response.status}, not JSON`,
        {
          status: response.status,
        },
      );
    }
    if (!response.ok) {
      const code = typeof parsed?.code === 'string' ? parsed.code : 'UNEXPECTED_RESPONSE';
      const message = typeof parsed?.message === 'string' ? parsed.message : `HTTP ${response.status}`;
      throw new TillidClientError(code, message, { status: response.status, details: parsed?.details });
    }
    return parsed;
  }

  #get = (path: string) => this.#request('GET', path);
  #find = (path: string) => this.#request('GET', path, undefined, true);

  status(): Promise<NodeStatus> {
    return this.#get('/v1/status');
  }

  /** Submits a signed transaction; resolves with its hash once the node admitted it (202). */
  async submit(tx: Transaction): Promise<Hex> {
    return ((await this.#request('POST', '/v1/transactions', tx)) as { hash: Hex }).hash;
  }

  /** Up to 1000 transactions in one request; a `{ hash }` or `{ code, message }` per item, in order. */
  async submitBatch(
    txs: readonly Transaction[],
  ): Promise<{ accepted: number; results: ({ hash: Hex } | { code: string; message: string })[] }> {
    return this.#request('POST', '/v1/transactions/batch', { transactions: txs });
  }

  /** Where a transaction is: pending, finalized (height, index) or rejected (code); undefined if unknown. */
  transaction(hash: Hex): Promise<TransactionView | undefined> {
    return this.#find(`/v1/transactions/${hash}`);
  }

  /**
   * Waits until the transaction is final. Resolves with its finalized view; throws a
   * `TillidClientError` with the module's code (and `rejected: true`) when the chain refused it,
   * or `WAIT_TIMEOUT`.
   */
  async waitFinal(hash: Hex, options: WaitOptions = {}): Promise<TransactionView & { status: 'finalized' }> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const view = await this.transaction(hash);
      if (view?.status === 'finalized') return view as TransactionView & { status: 'finalized' };
      if (view?.status === 'rejected')
        throw new TillidClientError(
          view.code ?? 'REJECTED',
          view.message ?? 'the chain refused the transaction',
          {
            rejected: true,
            hash,
            ...(view.height !== undefined ? { details: { height: view.height } } : {}),
          },
        );
      if (Date.now() > deadline)
        throw new TillidClientError('WAIT_TIMEOUT', `transaction ${hash} is ${view?.status ?? 'unknown'}`, {
          hash,
        });
      await sleep(this.#options.pollMs ?? 100);
    }
  }

  /** Submits and, with `wait`, waits for finality (see `waitFinal`). */
  async send(tx: Transaction, options: WaitOptions & { wait?: boolean } = {}): Promise<TransactionView> {
    const hash = await this.submit(tx);
    return options.wait ? this.waitFinal(hash, options) : { hash, status: 'pending' };
  }

  // ---- chain ----
  block(height: number | 'latest'): Promise<Json | undefined> {
    return this.#find(`/v1/blocks/${height}`);
  }
  /** Each transaction's receipt in a finalized block; undefined until the height is final. */
  receipts(height: number | 'latest'): Promise<BlockReceipts | undefined> {
    return this.#find(`/v1/blocks/${height}/receipts`);
  }
  anchor(hash: Hex): Promise<Json | undefined> {
    return this.#find(`/v1/anchors/${hash}`);
  }
  authorities(): Promise<Json> {
    return this.#get('/v1/authorities');
  }
  proposal(id: Hex): Promise<Json | undefined> {
    return this.#find(`/v1/governance/proposals/${id}`);
  }
  rotation(id: Hex): Promise<Json | undefined> {
    return this.#find(`/v1/governance/rotations/${id}`);
  }
  evidence(): Promise<Json> {
    return this.#get('/v1/evidence');
  }

  // ---- contracts ----
  party(cvr: string): Promise<Json | undefined> {
    return this.#find(`/v1/parties/${cvr}`);
  }
  /** A contract with its terms, timeline, open motions, payments and report duties. */
  contract(id: Hex): Promise<Json | undefined> {
    return this.#find(`/v1/contracts/${id}`);
  }
  async contracts(party: string): Promise<Json[]> {
    return (await this.#get(`/v1/contracts?party=${encodeURIComponent(party)}`)).contracts;
  }
  async reports(party: string): Promise<Json[]> {
    return (await this.#get(`/v1/reports?party=${encodeURIComponent(party)}`)).reports;
  }
  /** The payment decisions a municipality's chain made in a month (YYYY-MM) of business time. */
  async payments(municipality: string, month: string): Promise<Json[]> {
    const q = new URLSearchParams({ municipality, month });
    return (await this.#get(`/v1/payments?${q}`)).decisions;
  }
  /** The decisions a party sees in a month: a municipality its own, a provider those on its contracts. */
  async paymentsFor(party: string, month: string): Promise<Json[]> {
    const q = new URLSearchParams({ party, month });
    return (await this.#get(`/v1/payments?${q}`)).decisions;
  }
  /** Finalized events after a height, oldest first; continue from `next`. */
  events(options: { after?: number; limit?: number } = {}): Promise<EventPage> {
    const q = new URLSearchParams();
    if (options.after !== undefined) q.set('after', String(options.after));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    return this.#get(`/v1/events${q.size ? `?${q}` : ''}`);
  }
}
