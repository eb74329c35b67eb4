/**
 * The one canonical encoding for everything Tillid signs or hashes: RFC 8785 (JSON Canonicalization
 * Scheme). Support systems written in C#, Java or Python have JCS libraries, so they can reproduce
 * the exact bytes a node hashes. We further restrict values to JSON without floating-point numbers
 * (see `assertCanonicalSafe`), because number formatting is where JCS implementations disagree most.
 */
import canonicalize from 'canonicalize';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const encoder = new TextEncoder();

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no canonical JSON form');
  return text;
}

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/**
 * Returns a reason when `value` is not plain JSON made of objects, arrays, strings, booleans, null
 * and safe integers, or `undefined` when it is. Depth is bounded so a hostile payload cannot
 * exhaust the stack.
 */
export function canonicalSafetyProblem(value: unknown, maxDepth = 16): string | undefined {
  const walk = (v: unknown, depth: number, path: string): string | undefined => {
    if (depth > maxDepth) return `${path}: nested deeper than ${maxDepth}`;
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return undefined;
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
        const p = walk(child, depth + 1, `${path}.${k}`);
        if (p) return p;
      }
      return undefined;
    }
    return `${path}: not a JSON value`;
  };
  return walk(value, 0, '$');
}
