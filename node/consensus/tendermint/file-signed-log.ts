/**
 * The durable "last signed" log: one JSON line per signed message. A restarted authority must
 * never sign a conflicting message, so nothing it signed may leave the node before its line is on
 * disk. Writing and fsync happen off the main thread (libuv's pool): `record` enters the entry at
 * once (so the engine, which asks the log before signing, sees it) and queues the write; `durable()`
 * resolves once every entry recorded so far is fsync'ed, and the host waits for it before it
 * broadcasts (host.ts). Entries recorded while a write is under way go out together in the next
 * one (group commit), so under load one fsync covers several votes instead of blocking the event
 * loop once per vote.
 *
 * A crash before the fsync loses only entries whose messages were never sent. A failed write or
 * fsync is fatal for this log: every later `durable()` rejects, so the node stops sending signed
 * messages rather than send one it may not remember.
 *
 * Pruning rewrites the file (write, fsync, rename) with the entries still needed, in the same
 * queue, after the writes before it. The file is created on first open, so a missing file later
 * means the record was lost (`lost`).
 */
import { closeSync, existsSync, fdatasync, openSync, readFileSync, rename, write, writeFile } from 'node:fs';
import { promisify } from 'node:util';
import { type SignedEntry, type SignedVoteLog, slotOf } from './signed-log.ts';

const writeAsync = promisify(write) as (fd: number, text: string) => Promise<unknown>;
const fdatasyncAsync = promisify(fdatasync);
const renameAsync = promisify(rename);
const writeFileAsync = promisify(writeFile);

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

  constructor(path: string) {
    this.#path = path;
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
    this.#fd = openSync(path, 'a');
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
    entries.push(entry);
    this.#byHeight.set(height, entries);
    this.#pending.push(`${JSON.stringify(entry)}\n`);
    if (this.#writeQueued) return;
    this.#writeQueued = true;
    this.#enqueue(async () => {
      this.#writeQueued = false;
      const text = this.#pending.join('');
      this.#pending = [];
      if (text === '') return; // taken by a prune's rewrite meanwhile
      await writeAsync(this.#fd, text);
      await fdatasyncAsync(this.#fd);
    });
  }

  /** Resolves when everything recorded so far is on disk; rejects for good after a disk failure. */
  durable(): Promise<void> {
    return this.#tail;
  }

  prune(height: number): void {
    const stale = [...this.#byHeight.keys()].filter((h) => h < height);
    if (stale.length === 0) return;
    for (const h of stale) this.#byHeight.delete(h);
    this.#enqueue(async () => {
      // Everything still in memory, pending lines included (they are dropped from the append
      // queue, so none is written twice): after the rename they are durable too.
      this.#pending = [];
      const keep = [...this.#byHeight.values()]
        .flat()
        .map((e) => `${JSON.stringify(e)}\n`)
        .join('');
      const tmp = `${this.#path}.tmp`;
      await writeFileAsync(tmp, keep, { flush: true });
      closeSync(this.#fd);
      await renameAsync(tmp, this.#path);
      this.#fd = openSync(this.#path, 'a');
    });
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail.catch(() => {});
    closeSync(this.#fd);
  }

  /** Runs `operation` after every earlier one; a failure fails every later one too. */
  #enqueue(operation: () => Promise<void>): void {
    this.#tail = this.#tail.then(operation);
    // A rejection is reported through durable(); keep it from counting as unhandled meanwhile.
    this.#tail.catch(() => {});
  }
}
