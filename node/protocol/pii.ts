/**
 * The PII guard: personal data never goes on the chain. This first rule looks for Danish CPR
 * numbers — `ddmmyy-xxxx`, or ten digits that begin with a valid date — anywhere in a payload's
 * strings, keys and integers. Hex strings of exactly 64 or 128 characters — digests, public keys,
 * signatures — are machine values, never text, and are exempt: they routinely contain digit runs.
 */
import type { Json } from './canonical.ts';

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// Ten digits (optionally split 6-4 by a hyphen or space) not touching other digits.
const CPR_CANDIDATE = /(?<!\d)(\d{2})(\d{2})\d{2}[- ]?\d{4}(?!\d)/g;
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

/** The JSON path of the first value that looks like personal data, or `undefined`. */
export function findPersonalData(value: Json, path = '$'): string | undefined {
  if (typeof value === 'string') return !DIGEST.test(value) && containsCpr(value) ? path : undefined;
  if (typeof value === 'number') return containsCpr(String(value)) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPersonalData(value[i] as Json, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (containsCpr(key)) return `${path}.${key}`;
      const found = findPersonalData(child, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
