/**
 * The gateway's recent warnings and errors, for the operator's page in the console: a bounded
 * ring fed by the gateway's own logger (a second pino stream at `warn`). Only a few fields of each
 * line are kept — time, level, component, message, and the node, CVR and code it names — never
 * the rest of the logged object, and CPR-like digit runs in a message are masked, so no personal
 * data reaches the page even if a message were to carry some. Memory is bounded by `capacity`
 * lines of at most MAX_MESSAGE characters.
 */

export interface LogLine {
  readonly time: string;
  readonly level: 'warn' | 'error' | 'fatal';
  readonly component?: string;
  readonly message: string;
  /** The node the line is about (its URL), when it names one. */
  readonly node?: string;
  /** The organisation the line is about, when it names one. */
  readonly cvr?: string;
  readonly code?: string;
}

const LEVELS: Readonly<Record<number, LogLine['level']>> = { 40: 'warn', 50: 'error', 60: 'fatal' };
const MAX_MESSAGE = 300;
/** Six digits that could be a birth date, then four: the CPR shape, with or without a dash. */
const CPR_LIKE = /(?<!\d)\d{6}-?\d{4}(?!\d)/g;

const text = (v: unknown, max = MAX_MESSAGE): string | undefined =>
  typeof v === 'string' && v !== '' ? v.replace(CPR_LIKE, '[skjult]').slice(0, max) : undefined;

export class LogRing {
  readonly #capacity: number;
  readonly #lines: LogLine[] = [];

  constructor(capacity = 200) {
    this.#capacity = capacity;
  }

  /** pino's stream interface: one JSON line per call. Lines below warn, or not JSON, are ignored. */
  write(raw: string): void {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = LEVELS[o.level as number];
    if (!level) return;
    const err = (o.err ?? {}) as Record<string, unknown>;
    const node = text(o.node) ?? text(o.url);
    const cvr = typeof o.cvr === 'string' && /^\d{8}$/.test(o.cvr) ? o.cvr : undefined;
    const code = text(o.code, 40) ?? text(err.code, 40);
    const line: LogLine = {
      time: typeof o.time === 'string' ? o.time : new Date(Number(o.time) || Date.now()).toISOString(),
      level,
      ...(typeof o.component === 'string' ? { component: o.component.slice(0, 40) } : {}),
      message: text(o.msg) ?? text(err.message) ?? '',
      ...(node ? { node } : {}),
      ...(cvr ? { cvr } : {}),
      ...(code ? { code } : {}),
    };
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
  }

  /** The kept lines, newest first. */
  recent(): readonly LogLine[] {
    return [...this.#lines].reverse();
  }
}
