/**
 * Rejection memory: why a transaction that never reached a block was dropped (expired while
 * waiting, failed re-checking before a proposal), so `GET /v1/transactions/:hash` can say so
 * instead of "not found". Bounded; the oldest rejection is forgotten first.
 */
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';

const REJECTION_MEMORY = 100_000;

export class RejectionMemory {
  readonly #rejected = new Map<Hex, { code: string; message: string }>();
  readonly #limit: number;

  constructor(limit = REJECTION_MEMORY) {
    this.#limit = limit;
  }

  remember(hash: Hex, error: TillidError): void {
    if (this.#rejected.size >= this.#limit) this.#rejected.delete(this.#rejected.keys().next().value as Hex);
    this.#rejected.set(hash, { code: error.code, message: error.message });
  }

  get(hash: Hex): { code: string; message: string } | undefined {
    return this.#rejected.get(hash);
  }
}
