/**
 * The audit log: one JSON line per call — who (calling system, how authenticated), for which CVR,
 * what (gateway service, action, route), the outcome (HTTP status and error code), the caller's
 * transaction id and time, and the chain transaction it led to. Never personal data: no request
 * bodies, no user ids (only their pseudonymous actor id), no document contents, no tokens.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface AuditEntry {
  readonly at: string;
  readonly transactionId: string;
  readonly transactionTime?: string;
  readonly system?: string;
  readonly cvr?: string;
  readonly via?: 'token' | 'certificate' | 'person';
  readonly service?: string;
  readonly action?: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly outcome: 'ok' | 'refused' | 'failed';
  readonly code?: string;
  readonly actor?: string;
  readonly chainTransaction?: string;
  readonly contract?: string;
  readonly durationMs: number;
}

export interface AuditSink {
  record(entry: AuditEntry): void;
  close(): Promise<void>;
}

/** Appends JSON lines to a file (created with mode 600). */
export class FileAuditSink implements AuditSink {
  readonly #stream: WriteStream;
  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.#stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  }
  record(entry: AuditEntry): void {
    this.#stream.write(`${JSON.stringify(entry)}\n`);
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}

/** Keeps entries in memory (tests, and a gateway run without an audit file logs them instead). */
export class MemoryAuditSink implements AuditSink {
  readonly entries: AuditEntry[] = [];
  readonly #limit: number;
  readonly #forward: ((entry: AuditEntry) => void) | undefined;
  constructor(limit = 10_000, forward?: (entry: AuditEntry) => void) {
    this.#limit = limit;
    this.#forward = forward;
  }
  record(entry: AuditEntry): void {
    if (this.entries.length >= this.#limit) this.entries.shift();
    this.entries.push(entry);
    this.#forward?.(entry);
  }
  async close(): Promise<void> {}
}
