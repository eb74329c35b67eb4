/**
 * The access log: every read of a case's contracts through the gateway (console or API), with the
 * reading organisation and unit (never the person), time, purpose and the system that asked, under
 * the case's pseudonym (`caseRef`) — never a CPR number or a case number.
 *
 * Tamper evidence: entries are batched; at each interval the pending batch's Merkle root (the
 * chain's tree, node/protocol/merkle.ts) is anchored on chain by the case's municipality
 * (`anchor.record`, docType `access-log`). Afterwards an entry carries its inclusion proof; a
 * citizen's view recomputes the root from the entry and checks the anchor on chain, so a dropped
 * or altered entry no longer matches a root the municipality cannot withdraw. An anchoring that
 * fails (no node) keeps the batch pending for the next interval.
 *
 * First slice: entries are kept in memory (a gateway restart loses the unanchored batch and the
 * entries' text, while their roots stay on chain); retention and erasure are not yet built.
 */
import { createHash } from 'node:crypto';
import type { Hex } from '../../node/protocol/hash.ts';
import { merkleRoot } from '../../node/protocol/merkle.ts';
import type { Caller } from '../caller.ts';
import type { Submitter } from '../submission.ts';
import { inclusionProof, type ProofStep } from './merkle-proof.ts';

export interface AccessEntry {
  /** Per-gateway sequence number: identical reads are still distinct leaves. */
  readonly seq: number;
  readonly caseRef: Hex;
  /** The municipality whose case it is (it anchors the root). */
  readonly municipality: string;
  /** The reading organisation's CVR and unit (as its IdP asserts; never a person). */
  readonly cvr: string;
  readonly unit?: string | undefined;
  /** ISO 8601 time of the read. */
  readonly at: string;
  /** Why: `case-handling` (the municipality), `delivery` (a provider), `audit`. */
  readonly purpose: string;
  /** The system that asked: `console`, or a support system's id. */
  readonly system: string;
}

export interface AnchoredEntry {
  readonly entry: AccessEntry;
  readonly leaf: Hex;
  /** Set once the entry's batch root is anchored. */
  readonly anchored?: { readonly root: Hex; readonly proof: readonly ProofStep[]; readonly tx: Hex };
}

/** The leaf of an entry: SHA-256 of its fields in a fixed order. */
export const leafOf = (e: AccessEntry): Hex =>
  createHash('sha256')
    .update(
      JSON.stringify([e.seq, e.caseRef, e.municipality, e.cvr, e.unit ?? null, e.at, e.purpose, e.system]),
    )
    .digest('hex');

export class AccessLog {
  readonly #submitter: Submitter;
  readonly #pending = new Map<string, AnchoredEntry[]>();
  readonly #byCase = new Map<Hex, AnchoredEntry[]>();
  readonly #timer: NodeJS.Timeout;
  #seq = 0;
  #anchoring = false;

  readonly #anchors: (municipality: string) => boolean;

  /**
   * `anchors(cvr)`: whether this gateway holds the municipality's submitter key and so can anchor
   * its roots. A case of a municipality it cannot sign for is that municipality's gateway's to log.
   */
  constructor(o: { submitter: Submitter; intervalMs: number; anchors: (municipality: string) => boolean }) {
    this.#submitter = o.submitter;
    this.#anchors = o.anchors;
    this.#timer = setInterval(() => void this.anchorPending(), o.intervalMs);
    this.#timer.unref();
  }

  record(e: Omit<AccessEntry, 'seq' | 'at'>): void {
    if (!this.#anchors(e.municipality)) return;
    const entry: AccessEntry = { ...e, seq: ++this.#seq, at: new Date().toISOString() };
    const item: AnchoredEntry = { entry, leaf: leafOf(entry) };
    const batch = this.#pending.get(e.municipality) ?? [];
    batch.push(item);
    this.#pending.set(e.municipality, batch);
    const list = this.#byCase.get(e.caseRef) ?? [];
    list.push(item);
    this.#byCase.set(e.caseRef, list);
  }

  /** The entries of a case, newest first. */
  of(caseRef: Hex): readonly AnchoredEntry[] {
    return [...(this.#byCase.get(caseRef) ?? [])].reverse();
  }

  /** Anchors each municipality's pending batch; one run at a time. */
  async anchorPending(): Promise<void> {
    if (this.#anchoring) return;
    this.#anchoring = true;
    try {
      for (const [municipality, batch] of [...this.#pending]) {
        this.#pending.delete(municipality);
        const leaves = batch.map((x) => x.leaf);
        const root = merkleRoot(leaves);
        try {
          const result = await this.#submitter.sign(
            municipality,
            'anchor.record',
            {
              hash: root,
              docType: 'access-log',
              ref: `access-log:${batch[0]?.entry.seq}-${batch.at(-1)?.entry.seq}`,
            },
            true,
          );
          if (result.outcome?.status !== 'finalized') throw new Error('not final');
          batch.forEach((item, i) => {
            const anchored = { root, proof: inclusionProof(leaves, i), tx: result.hash };
            // The entry objects are shared with the per-case lists: replace in place.
            const list = this.#byCase.get(item.entry.caseRef) ?? [];
            const at = list.indexOf(item);
            if (at >= 0) list[at] = { ...item, anchored };
          });
        } catch {
          // Keep the batch (and anything recorded meanwhile) for the next interval.
          this.#pending.set(municipality, [...batch, ...(this.#pending.get(municipality) ?? [])]);
        }
      }
    } finally {
      this.#anchoring = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Why a caller reads a case: the municipality handles it (or audits it), a provider delivers. */
export function purposeOf(caller: Caller, municipality: string): string {
  if (caller.cvr !== municipality) return 'delivery';
  return caller.privileges.every((p) => p.role === 'auditor') ? 'audit' : 'case-handling';
}
