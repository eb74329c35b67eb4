/**
 * A delivery channel's durable cursor: how far it has delivered, confirmed. A channel writes it only
 * after the receiver confirmed (broker confirm, webhook 2xx), so a crash at any moment loses
 * nothing: the next start resumes at the cursor and may deliver the last events again — at least
 * once, duplicates recognisable by event id.
 *
 * `{ after, lastId? }`: every event at heights ≤ `after` is delivered, and, when `lastId` is set,
 * so are the events of the following height up to and including `lastId`.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileDurably } from '../durable-file.ts';
import { compareEventIds, parseEventId } from './feed.ts';

export interface CursorPosition {
  readonly after: number;
  readonly lastId?: string;
}

/** Whether an event is past the position (not yet delivered). */
export function isAfter(position: CursorPosition, event: { id: string; height: number }): boolean {
  if (event.height <= position.after) return false;
  return position.lastId === undefined || compareEventIds(event.id, position.lastId) > 0;
}

/** The position once `event` (and everything before it) is delivered. */
export const positionAt = (event: { id: string; height: number }): CursorPosition => ({
  after: event.height - 1,
  lastId: event.id,
});

export class DurableCursor {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  async read(): Promise<CursorPosition | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const value = JSON.parse(text) as { after?: unknown; lastId?: unknown };
    if (typeof value.after !== 'number' || !Number.isSafeInteger(value.after) || value.after < 0) {
      throw new Error(`${this.file}: not a cursor`);
    }
    if (value.lastId !== undefined && (typeof value.lastId !== 'string' || !parseEventId(value.lastId))) {
      throw new Error(`${this.file}: not a cursor`);
    }
    return value.lastId === undefined ? { after: value.after } : { after: value.after, lastId: value.lastId };
  }

  /** Replaces the cursor atomically and durably (temp file, fsync, rename, fsync of the directory). */
  async write(position: CursorPosition): Promise<void> {
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurably(this.file, JSON.stringify(position), dir);
  }

  async remove(): Promise<void> {
    await unlink(this.file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}
