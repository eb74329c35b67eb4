/**
 * The access log: every read of a case's contracts or documents through the gateway (console or
 * API), with the reading organisation and unit (never the person), time, purpose and the system
 * that asked, under the case's pseudonym (`caseRef`) — never a CPR number or a case number.
 *
 * Tamper evidence: entries are batched; at each interval the pending batch's Merkle root (the
 * chain's tree, node/protocol/merkle.ts) is anchored on chain by the case's municipality
 * (`anchor.record`, docType `access-log`). Afterwards an entry carries its inclusion proof; a
 * citizen's view recomputes the root from the entry and checks the anchor on chain, so a dropped
 * or altered entry no longer matches a root the municipality cannot withdraw. An anchoring that
 * fails (no node) keeps the batch pending for the next interval.
 *
 * Durable: entries and anchored batches are appended to a JSON-lines file (fsync'ed) and read back
 * at start, so a restart loses neither the entries nor their proofs. Retention: anchored entries
 * older than the retention period are erased by rewriting the file without them; each batch keeps
 * its leaves (hashes only), so the entries that remain still prove into their anchored roots.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Hex } from '../../node/protocol/hash.ts';
import { merkleRoot } from '../../node/protocol/merkle.ts';
import type { Caller } from '../caller.ts';
import { writeFileDurably } from '../durable-file.ts';
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
  /** What was read: a contract (the default) or a document. */
  readonly what?: 'document' | undefined;
}

export interface AnchoredEntry {
  readonly entry: AccessEntry;
  readonly leaf: Hex;
  /** Set once the entry's batch root is anchored. */
  readonly anchored?: { readonly root: Hex; readonly proof: readonly ProofStep[]; readonly tx: Hex };
}

/** One anchored batch as the file keeps it: the leaves (hashes only) survive their entries' erasure. */
interface Batch {
  readonly root: Hex;
  readonly tx: Hex;
  readonly seqs: readonly number[];
  readonly leaves: readonly Hex[];
}

/** Anchors `root` on chain for `municipality`; resolves with the final transaction's hash. */
export type AnchorRoot = (municipality: string, root: Hex, ref: string) => Promise<Hex>;

/** The leaf of an entry: SHA-256 of its fields in a fixed order. */
export const leafOf = (e: AccessEntry): Hex =>
  createHash('sha256')
    .update(
      JSON.stringify([
        e.seq,
        e.caseRef,
        e.municipality,
        e.cvr,
        e.unit ?? null,
        e.at,
        e.purpose,
        e.system,
        ...(e.what ? [e.what] : []),
      ]),
    )
    .digest('hex');

const DAY_MS = 86_400_000;

export interface AccessLogOptions {
  /** The JSON-lines file the log lives in. */
  readonly file: string;
  readonly anchor: AnchorRoot;
  readonly intervalMs: number;
  /**
   * Whether this gateway holds the municipality's submitter key and so can anchor its roots. A case
   * of a municipality it cannot sign for is that municipality's gateway's to log.
   */
  readonly anchors: (municipality: string) => boolean;
  /** Anchored entries older than this are erased (checked at every interval). */
  readonly retentionDays: number;
  readonly now?: () => Date;
  /** Told when the file cannot be written (the entry stays in memory and is retried with the next write). */
  readonly onError?: (e: unknown) => void;
}

export class AccessLog {
  readonly #o: AccessLogOptions;
  readonly #now: () => Date;
  readonly #pending = new Map<string, AnchoredEntry[]>();
  readonly #byCase = new Map<Hex, AnchoredEntry[]>();
  readonly #batches: Batch[] = [];
  readonly #timer: NodeJS.Timeout;
  #seq = 0;
  #anchoring = false;
  /** Lines not yet on disk, and the chain of writes (one at a time, in order). */
  #unwritten: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  /** The latest erasure by retention: entries read before `before` are gone. */
  #erased: { before: string; count: number; lastSeq: number } | undefined;

  private constructor(o: AccessLogOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#timer = setInterval(() => void this.#tick(), o.intervalMs);
    this.#timer.unref();
  }

  /** Opens the log in `file` (created on the first entry), with what a previous run left there. */
  static open(o: AccessLogOptions): AccessLog {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    const log = new AccessLog(o);
    if (existsSync(o.file)) log.#load(readFileSync(o.file, 'utf8'));
    return log;
  }

  #load(text: string): void {
    const entries = new Map<number, AccessEntry>();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let x: {
        entry?: AccessEntry;
        batch?: Batch;
        erased?: { before: string; count: number; lastSeq: number };
      };
      try {
        x = JSON.parse(line);
      } catch {
        // A line torn by a crash mid-append: the entries before it stand.
        continue;
      }
      if (x.entry) entries.set(x.entry.seq, x.entry);
      if (x.batch) this.#batches.push(x.batch);
      if (x.erased) {
        this.#erased = x.erased;
        this.#seq = Math.max(this.#seq, x.erased.lastSeq ?? 0);
      }
    }
    const anchoredBy = new Map<number, { batch: Batch; index: number }>();
    for (const batch of this.#batches)
      batch.seqs.forEach((seq, index) => {
        anchoredBy.set(seq, { batch, index });
      });
    for (const entry of [...entries.values()].sort((a, b) => a.seq - b.seq)) {
      this.#seq = Math.max(this.#seq, entry.seq);
      const at = anchoredBy.get(entry.seq);
      const item: AnchoredEntry = at
        ? {
            entry,
            leaf: leafOf(entry),
            anchored: {
              root: at.batch.root,
              proof: inclusionProof(at.batch.leaves, at.index),
              tx: at.batch.tx,
            },
          }
        : { entry, leaf: leafOf(entry) };
      this.#index(item, !at);
    }
    // Erased entries' numbers stay taken: their leaves are still in the batches.
    for (const batch of this.#batches) for (const seq of batch.seqs) this.#seq = Math.max(this.#seq, seq);
  }

  #index(item: AnchoredEntry, pending: boolean): void {
    if (pending) {
      const batch = this.#pending.get(item.entry.municipality) ?? [];
      batch.push(item);
      this.#pending.set(item.entry.municipality, batch);
    }
    const list = this.#byCase.get(item.entry.caseRef) ?? [];
    list.push(item);
    this.#byCase.set(item.entry.caseRef, list);
  }

  /**
   * Records a read; resolves once the entry is on disk. It never rejects (a failed write is told
   * to `onError` and retried with the next), so a caller that does not wait cannot crash on it.
   */
  record(e: Omit<AccessEntry, 'seq' | 'at'>): Promise<void> {
    if (!this.#o.anchors(e.municipality)) return Promise.resolve();
    const entry: AccessEntry = { ...e, seq: ++this.#seq, at: this.#now().toISOString() };
    this.#index({ entry, leaf: leafOf(entry) }, true);
    return this.#append({ entry });
  }

  /** The entries of a case, newest first. */
  of(caseRef: Hex): readonly AnchoredEntry[] {
    return [...(this.#byCase.get(caseRef) ?? [])].reverse();
  }

  /** The latest erasure by retention, if any: what a citizen is told is no longer shown. */
  erased(): { readonly before: string; readonly count: number } | undefined {
    return this.#erased;
  }

  #append(line: object): Promise<void> {
    this.#unwritten.push(`${JSON.stringify(line)}\n`);
    this.#writing = this.#writing.then(async () => {
      if (this.#unwritten.length === 0) return;
      const lines = this.#unwritten;
      this.#unwritten = [];
      try {
        const handle = await open(this.#o.file, 'a', 0o600);
        try {
          await handle.write(lines.join(''));
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (e) {
        this.#unwritten = [...lines, ...this.#unwritten];
        this.#o.onError?.(e);
      }
    });
    return this.#writing;
  }

  async #tick(): Promise<void> {
    await this.anchorPending();
    await this.eraseBefore(new Date(this.#now().getTime() - this.#o.retentionDays * DAY_MS));
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
          const tx = await this.#o.anchor(
            municipality,
            root,
            `access-log:${batch[0]?.entry.seq}-${batch.at(-1)?.entry.seq}`,
          );
          const record: Batch = { root, tx, seqs: batch.map((x) => x.entry.seq), leaves };
          this.#batches.push(record);
          await this.#append({ batch: record });
          batch.forEach((item, i) => {
            const anchored = { root, proof: inclusionProof(leaves, i), tx };
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

  /**
   * Erases the anchored entries read before `cutoff`: the file is rewritten without them (durably:
   * temp file, fsync, rename). Unanchored entries stay until their root is on chain, so retention
   * never removes an entry before the chain holds it. Batches keep their leaves while any of their
   * entries remain, so those still prove into the anchored root.
   */
  async eraseBefore(cutoff: Date): Promise<number> {
    const limit = cutoff.toISOString();
    let count = 0;
    for (const [ref, list] of this.#byCase) {
      const kept = list.filter((x) => !(x.anchored && x.entry.at < limit));
      count += list.length - kept.length;
      if (kept.length === 0) this.#byCase.delete(ref);
      else this.#byCase.set(ref, kept);
    }
    if (count === 0) return 0;
    // The last number given out is kept with the erasure, so numbers are never given out twice
    // even when every entry was erased.
    this.#erased = { before: limit, count: count + (this.#erased?.count ?? 0), lastSeq: this.#seq };
    // The rewrite is made when its turn in the write chain comes, from memory as it is then: every
    // line not yet written is in it, so it replaces them.
    this.#writing = this.#writing.then(async () => {
      const remaining = [...this.#byCase.values()].flat().sort((a, b) => a.entry.seq - b.entry.seq);
      const live = new Set(remaining.map((x) => x.entry.seq));
      const batches = this.#batches.filter((b) => b.seqs.some((s) => live.has(s)));
      this.#batches.splice(0, this.#batches.length, ...batches);
      this.#unwritten = [];
      const lines = [
        ...remaining.map((x) => ({ entry: x.entry })),
        ...batches.map((batch) => ({ batch })),
        { erased: this.#erased },
      ];
      await writeFileDurably(
        this.#o.file,
        lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
        dirname(this.#o.file),
      ).catch((e) => this.#o.onError?.(e));
    });
    await this.#writing;
    return count;
  }

  /** Stops the timer and waits for writes under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
  }
}

/** Why a caller reads a case: the municipality handles it (or audits it), a provider delivers. */
export function purposeOf(caller: Caller, municipality: string): string {
  if (caller.cvr !== municipality) return 'delivery';
  return caller.privileges.every((p) => p.role === 'auditor') ? 'audit' : 'case-handling';
}
