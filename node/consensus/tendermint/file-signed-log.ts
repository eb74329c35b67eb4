/**
 * The durable "last signed" log: one JSON line per signed message. A restarted authority must
 * never sign a conflicting message, so nothing it signed may leave the node before its line is on
 * disk. Two ways to keep that order:
 *
 * - By default `record` writes and fsyncs before it returns (on the main thread), so any caller
 *   may send the message as soon as the engine hands it over.
 * - With `writeBehind`, writing and fsync happen off the main thread (libuv's pool): `record`
 *   enters the entry at once (so the engine, which asks the log before signing, sees it) and
 *   queues the write; `durable()` resolves once every entry recorded so far is fsync'ed. Only a
 *   caller that waits for `durable()` before anything signed leaves the node may ask for this: the
 *   consensus host does (host.ts), for every broadcast and before committing a block whose
 *   certificate may hold its own precommit. Entries recorded while a write is under way go out
 *   together in the next one (group commit), so under load one fsync covers several votes
 *   instead of blocking the event loop once per vote.
 *
 * A crash before the fsync loses only entries whose messages were never sent. A failed write or
 * fsync is fatal for this log: every later `durable()` rejects, so the node stops sending signed
 * messages rather than send one it may not remember.
 *
 * The file is opened with O_DSYNC: a write returns once its data is on disk, so one system call
 * (one trip to libuv's pool in write-behind) makes a line durable, with no separate fsync.
 *
 * Pruning forgets finished heights in memory at once; the file is compacted (write, fsync, rename,
 * in the same queue after the writes before it) only once `compactAfter` lines in it are stale, not
 * at every height: a stale line is harmless (nothing is signed again below the committed head),
 * and compacting per height would cost an extra rewrite and fsync per block. The file is created
 * on first open, so a missing file later means the record was lost (`lost`).
 */
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  rename,
  renameSync,
  write,
  writeFile,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { type SignedEntry, type SignedVoteLog, slotOf } from './signed-log.ts';

const writeAsync = promisify(write) as (fd: number, text: string) => Promise<{ bytesWritten: number }>;
const renameAsync = promisify(rename);
const writeFileAsync = promisify(writeFile);

/** Stale lines (about a hundred heights' worth) before the file is compacted. */
export const COMPACT_AFTER = 300;

/** Appending, created if missing; O_DSYNC: each write is on disk when it returns. */
const openLog = (path: string): number =>
  openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC);

export class FileSignedVoteLog implements SignedVoteLog {
  readonly #path: string;
  readonly #byHeight = new Map<number, SignedEntry[]>();
  readonly lost: boolean;
  #fd: number;
  /** Lines recorded but not yet handed to a write. */
  #pending: string[] = [];
  /** A write of `#pending` is queued and has not started: new lines join it. */
  #writeQueued = false;
  /** The last queued disk operation; resolves when it and all before it are done. */
  #tail: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #writeBehind: boolean;
  readonly #compactAfter: number;
  /** Lines in the file for heights already pruned from memory. */
  #staleLines = 0;

  /**
   * `writeBehind`: only for a caller that awaits `durable()` before sending what it signed.
   * `compactAfter`: stale lines the file may hold before it is rewritten.
   */
  constructor(path: string, options: { writeBehind?: boolean; compactAfter?: number } = {}) {
    this.#path = path;
    this.#writeBehind = options.writeBehind ?? false;
    this.#compactAfter = options.compactAfter ?? COMPACT_AFTER;
    this.lost = !existsSync(path);
    if (!this.lost) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let entry: SignedEntry;
        try {
          entry = JSON.parse(line);
        } catch {
          // A torn last line from a crash mid-write: its message was never sent (it was not yet
          // durable), so it is safe to forget.
          continue;
        }
        const { height } = slotOf(entry);
        this.#byHeight.set(height, [...(this.#byHeight.get(height) ?? []), entry]);
      }
    }
    this.#fd = openLog(path);
  }

  signedAt(height: number): readonly SignedEntry[] {
    return this.#byHeight.get(height) ?? [];
  }

  record(entry: SignedEntry): void {
    if (this.#closed) throw new Error('the signed-vote log is closed');
    const { height, round, type } = slotOf(entry);
    const entries = this.#byHeight.get(height) ?? [];
    if (entries.some((e) => slotOf(e).round === round && slotOf(e).type === type)) {
      throw new Error(`already signed ${type} at height ${height} round ${round}`);
    }
    const line = `${JSON.stringify(entry)}\n`;
    if (!this.#writeBehind) {
      // Durable before the caller can send it. A prune queued meanwhile runs after this write
      // and rewrites from memory, which holds this entry by then.
      const written = writeSync(this.#fd, line);
      if (written !== Buffer.byteLength(line)) throw new Error('the signed-vote log: short write');
      entries.push(entry);
      this.#byHeight.set(height, entries);
      return;
    }
    entries.push(entry);
    this.#byHeight.set(height, entries);
    this.#pending.push(line);
    if (this.#writeQueued) return;
    this.#writeQueued = true;
    this.#enqueue(async () => {
      this.#writeQueued = false;
      const text = this.#pending.join('');
      this.#pending = [];
      if (text === '') return; // taken by a prune's rewrite meanwhile
      const { bytesWritten } = await writeAsync(this.#fd, text);
      if (bytesWritten !== Buffer.byteLength(text)) throw new Error('the signed-vote log: short write');
    });
  }

  /** Resolves when everything recorded so far is on disk; rejects for good after a disk failure. */
  durable(): Promise<void> {
    return this.#tail;
  }

  prune(height: number): void {
    const stale = [...this.#byHeight.keys()].filter((h) => h < height);
    if (stale.length === 0) return;
    for (const h of stale) {
      this.#staleLines += this.#byHeight.get(h)?.length ?? 0;
      this.#byHeight.delete(h);
    }
    if (this.#staleLines < this.#compactAfter) return;
    this.#staleLines = 0;
    if (!this.#writeBehind) {
      // On the main thread like `record`, so no record can fall between reading memory and the rename.
      writeFileSync(`${this.#path}.tmp`, this.#lines(), { flush: true });
      closeSync(this.#fd);
      renameSync(`${this.#path}.tmp`, this.#path);
      this.#fd = openLog(this.#path);
      return;
    }
    this.#enqueue(async () => {
      // Everything still in memory, pending lines included (they are dropped from the append
      // queue, so none is written twice): after the rename they are durable too.
      this.#pending = [];
      const tmp = `${this.#path}.tmp`;
      await writeFileAsync(tmp, this.#lines(), { flush: true });
      closeSync(this.#fd);
      await renameAsync(tmp, this.#path);
      this.#fd = openLog(this.#path);
    });
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail.catch(() => {});
    closeSync(this.#fd);
  }

  /** Every entry still kept, one line each, in signing order per height. */
  #lines(): string {
    return [...this.#byHeight.values()]
      .flat()
      .map((e) => `${JSON.stringify(e)}\n`)
      .join('');
  }

  /** Runs `operation` after every earlier one; a failure fails every later one too. */
  #enqueue(operation: () => Promise<void>): void {
    this.#tail = this.#tail.then(operation);
    // A rejection is reported through durable(); keep it from counting as unhandled meanwhile.
    this.#tail.catch(() => {});
  }
}
