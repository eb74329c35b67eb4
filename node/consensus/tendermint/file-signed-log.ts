/**
 * The durable "last signed" log: one JSON line per signed message, fsync'ed before `record`
 * returns, because the message is broadcast right after and a restarted authority must never sign
 * a conflicting one. Pruning rewrites the file (write, fsync, rename) with the entries still needed.
 * A missing file means the record was lost (`lost`): a fresh data directory for a key that has
 * signed before looks exactly like one for a new key, so a missing log is never taken to mean "new".
 * A key that has never signed gets its empty log when it is provisioned (`provisionSignedVoteLog`:
 * `network init`, `network join` and `keys generate` do it), and that file is the marker that the
 * log is complete from the start. The file is also created on first open, so a node whose log was
 * lost is a normal node again from its next start on (by then it has rejoined safely).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type SignedEntry, type SignedVoteLog, slotOf } from './signed-log.ts';

/** The log's file name in a node's data directory. */
export const SIGNED_VOTE_LOG = 'signed-votes.jsonl';

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
  #fd: number;

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
          // A torn last line from a crash mid-write: its message was never sent (record had not
          // returned), so it is safe to forget.
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
    const { height, round, type } = slotOf(entry);
    const entries = this.#byHeight.get(height) ?? [];
    if (entries.some((e) => slotOf(e).round === round && slotOf(e).type === type)) {
      throw new Error(`already signed ${type} at height ${height} round ${round}`);
    }
    writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.#fd);
    entries.push(entry);
    this.#byHeight.set(height, entries);
  }

  prune(height: number): void {
    const stale = [...this.#byHeight.keys()].filter((h) => h < height);
    if (stale.length === 0) return;
    for (const h of stale) this.#byHeight.delete(h);
    const keep = [...this.#byHeight.values()]
      .flat()
      .map((e) => `${JSON.stringify(e)}\n`)
      .join('');
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, keep, { flush: true });
    closeSync(this.#fd);
    renameSync(tmp, this.#path);
    this.#fd = openSync(this.#path, 'a');
  }

  close(): void {
    closeSync(this.#fd);
  }
}
