/**
 * The one canonical encoding for everything Tillid signs or hashes: RFC 8785 (JSON Canonicalization
 * Scheme). Support systems written in C#, Java or Python have JCS libraries, so they can reproduce
 * the exact bytes a node hashes. Values are further restricted to JSON without fractional numbers
 * (see `canonicalSafetyProblem`), because number formatting is where JCS implementations disagree.
 *
 * Written here rather than taken from the `canonicalize` package: for this restricted JSON, JCS is
 * "JSON.stringify with object keys sorted by UTF-16 code units" (RFC 8785 §3.2), this version is
 * about 1.5× faster on transaction bodies — the encoding runs on every transaction — and it fails
 * with a TypeError the callers expect. test/node/protocol/encoding.test.ts holds the RFC vectors.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const encoder = new TextEncoder();

// Strings with nothing JSON.stringify would escape — no quote, backslash, control character or
// surrogate — are emitted as they are; the rest take the careful path. Most state strings (codes,
// hex, dates) are plain, and skipping JSON.stringify for them halves the cost of state roots.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this excludes.
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function encodeString(value: string): string {
  if (PLAIN.test(value)) return `"${value}"`;
  // RFC 8785 §3.2.2.2: strings must be valid Unicode; a lone surrogate has no canonical form.
  if (!value.isWellFormed()) throw new TypeError('string with a lone surrogate has no canonical form');
  return JSON.stringify(value);
}

function encode(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('NaN and Infinity have no canonical form');
      // Number::toString, as JSON.stringify and RFC 8785 §3.2.2.3 use.
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + encode(value[i]);
        return `${out}]`;
      }
      // Default sort compares UTF-16 code units, exactly the order RFC 8785 §3.2.3 prescribes.
      const keys = Object.keys(value).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const child = (value as Record<string, unknown>)[key];
        if (child === undefined) continue;
        out += `${first ? '' : ','}${encodeString(key)}:${encode(child)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`a ${typeof value} has no canonical JSON form`);
  }
}

export function canonicalJson(value: unknown): string {
  return encode(value);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(encode(value));
}

/**
 * Returns a reason when `value` is not plain JSON made of objects, arrays, strings, booleans, null
 * and safe integers, or `undefined` when it is. Depth is bounded so a hostile payload cannot
 * exhaust the stack.
 */
export function canonicalSafetyProblem(value: unknown, maxDepth = 16): string | undefined {
  const walk = (v: unknown, depth: number, path: string): string | undefined => {
    if (depth > maxDepth) return `${path}: nested deeper than ${maxDepth}`;
    if (v === null || typeof v === 'boolean') return undefined;
    if (typeof v === 'string')
      return v.isWellFormed() ? undefined : `${path}: invalid Unicode (lone surrogate)`;
    if (typeof v === 'number') {
      return Number.isSafeInteger(v) ? undefined : `${path}: numbers must be safe integers`;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const p = walk(v[i], depth + 1, `${path}[${i}]`);
        if (p) return p;
      }
      return undefined;
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, child] of Object.entries(v)) {
        if (!k.isWellFormed()) return `${path}: key with invalid Unicode`;
        const p = walk(child, depth + 1, `${path}.${k}`);
        if (p) return p;
      }
      return undefined;
    }
    return `${path}: not a JSON value`;
  };
  return walk(value, 0, '$');
}
