/**
 * The durable "last signed" log: one JSON line per signed message, on disk before `record`
 * returns, because the message is broadcast right after and a restarted authority must never sign
 * a conflicting one. The file is opened with O_DSYNC, so the one write that appends a line returns
 * only once the line is on disk: one system call per signed message, no separate fsync.
 *
 * Pruning forgets finished heights in memory at once; the file is compacted (write and flush a
 * copy, rename it over the log, fsync the directory so the rename itself survives a crash) only
 * once `compactAfter` of its lines are stale, not at every height: a stale line is harmless
 * (nothing is signed again below the committed head), and a rewrite per height would cost two
 * more disk flushes per block.
 *
 * A missing file means the record was lost (`lost`): a fresh data directory for a key that has
 * signed before looks exactly like one for a new key, so a missing log is never taken to mean "new".
 * A key that has never signed gets its empty log when it is provisioned (`provisionSignedVoteLog`:
 * `network init`, `network join` and `keys generate` do it), and that file is the marker that the
 * log is complete from the start. The file is also created on first open, so a node whose log was
 * lost is a normal node again from its next start on (by then it has rejoined safely).
 */
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { type SignedEntry, type SignedVoteLog, slotOf } from './signed-log.ts';

/** The log's file name in a node's data directory. */
export const SIGNED_VOTE_LOG = 'signed-votes.jsonl';

/** Stale lines (about a hundred heights' worth) before the file is compacted. */
export const COMPACT_AFTER = 300;

/** Appending, created if missing; O_DSYNC: each write is on disk when it returns. */
const openLog = (path: string): number =>
  openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC);

/** Makes a rename (or creation) in `dir` durable: the directory entry itself is flushed. */
const syncDirectory = (dir: string): void => {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/**
 * Creates the empty signed-vote log for a key that has never signed, in the data directory its node
 * will use, so the node starts as one whose record is complete. Call it only where the key was just
 * made (or before the genesis exists): for a key that has signed, an empty log would let the node
 * sign twice. Never touches an existing log. Returns whether it created one.
 */
export function provisionSignedVoteLog(dataDir: string): boolean {
  const path = join(dataDir, SIGNED_VOTE_LOG);
  if (existsSync(path)) return false;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, '', { flag: 'wx', flush: true });
  return true;
}

export class FileSignedVoteLog implements SignedVoteLog {
  readonly #path: string;
  readonly #byHeight = new Map<number, SignedEntry[]>();
  readonly lost: boolean;
  readonly #compactAfter: number;
  #fd: number;
  /** Lines in the file for heights already pruned from memory. */
  #staleLines = 0;

  /** `compactAfter`: stale lines the file may hold before it is rewritten. */
  constructor(path: string, options: { compactAfter?: number } = {}) {
    this.#path = path;
    this.#compactAfter = options.compactAfter ?? COMPACT_AFTER;
    this.lost = !existsSync(path);
    if (!this.lost) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let entry: SignedEntry;
        try {
          entry = JSON.parse(line);
        } catch {
          // A torn last line from a crash mid-write: its message was never sent (record had not
          // returned), so it is safe to forget.
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
    const { height, round, type } = slotOf(entry);
    const entries = this.#byHeight.get(height) ?? [];
    if (entries.some((e) => slotOf(e).round === round && slotOf(e).type === type)) {
      throw new Error(`already signed ${type} at height ${height} round ${round}`);
    }
    const line = `${JSON.stringify(entry)}\n`;
    const written = writeSync(this.#fd, line);
    if (written !== Buffer.byteLength(line)) throw new Error('the signed-vote log: short write');
    entries.push(entry);
    this.#byHeight.set(height, entries);
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
    const tmp = `${this.#path}.tmp`;
    writeFileSync(
      tmp,
      [...this.#byHeight.values()]
        .flat()
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
      { flush: true },
    );
    closeSync(this.#fd);
    renameSync(tmp, this.#path);
    // Without this a crash could bring back the old file while later lines went to the new one.
    syncDirectory(dirname(this.#path));
    this.#fd = openLog(this.#path);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
