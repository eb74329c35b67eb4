/**
 * The PII guard: personal data never goes on the chain. It looks for Danish CPR numbers —
 * `ddmmyy-xxxx`, or ten digits that begin with a valid date — and for e-mail addresses anywhere in
 * a payload's strings, keys and integers. Names cannot be recognised reliably in free text, so
 * the modules allow no free text: every string field is a short code, a date, a CVR or hex.
 * Hex strings of exactly 64 or 128 characters — digests, public keys, signatures — are machine
 * values, never text, and are exempt: they routinely contain digit runs.
 */
import type { Json } from './canonical.ts';

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// Ten digits (optionally split 6-4 by a hyphen or space) not touching other digits.
const CPR_CANDIDATE = /(?<!\d)(\d{2})(\d{2})\d{2}[- ]?\d{4}(?!\d)/g;
// local@domain.tld — deliberately loose: a false positive costs a rejected code, a miss leaks data.
const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]{2,}/;
const DIGEST = /^(?:[0-9a-f]{64}|[0-9a-f]{128})$/;

function isValidDate(day: number, month: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= (DAYS_IN_MONTH[month - 1] as number);
}

export function containsCpr(text: string): boolean {
  for (const match of text.matchAll(CPR_CANDIDATE)) {
    if (isValidDate(Number(match[1]), Number(match[2]))) return true;
  }
  return false;
}

export type PersonalDataKind = 'CPR number' | 'e-mail address';

export function personalDataKind(text: string): PersonalDataKind | undefined {
  if (DIGEST.test(text)) return undefined;
  if (containsCpr(text)) return 'CPR number';
  if (EMAIL.test(text)) return 'e-mail address';
  return undefined;
}

export interface PersonalDataFinding {
  /** JSON path of the value (or key) that looks like personal data, e.g. `$.items[0].code`. */
  readonly path: string;
  readonly kind: PersonalDataKind;
}

/** The first value or key that looks like personal data, or `undefined`. */
export function findPersonalDataOf(value: Json, path = '$'): PersonalDataFinding | undefined {
  if (typeof value === 'string' || typeof value === 'number') {
    const kind = personalDataKind(String(value));
    return kind ? { path, kind } : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPersonalDataOf(value[i] as Json, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const kind = personalDataKind(key);
      if (kind) return { path: `${path}.${key}`, kind };
      const found = findPersonalDataOf(child, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/** The JSON path of the first value that looks like personal data, or `undefined`. */
export const findPersonalData = (value: Json): string | undefined => findPersonalDataOf(value)?.path;
