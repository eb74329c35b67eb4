/**
 * Stateless payload checks shared by the contract actions: field lists, codes, digests, integers,
 * dates, line items, term changes and co-signatures. Each throws `TX_PAYLOAD_INVALID` with the
 * path of the first problem.
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import { checkActing } from '../party/acting.ts';
import { parseDate } from './calendar.ts';
import { invalid } from './records.ts';
import { MAX_ITEMS, MAX_MONTHLY, MAX_MONTHS } from './terms.ts';

export const CODE = /^[a-z][a-z0-9-]{0,31}$/;
export const KLE = /^\d{2}(\.\d{2}){0,2}$/;
export const HASH = /^[0-9a-f]{64}$/;
export const MAX_COSIGNATURES = 8;

export function fields(payload: JsonObject, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(payload))
    if (!allowed.includes(k)) throw invalid(`${where}: unknown field ${k}`, k);
}
export function code(value: unknown, path: string): void {
  if (typeof value !== 'string' || !CODE.test(value))
    throw invalid(`${path} must be a short code (a-z, 0-9, -; at most 32), not free text`, path);
}
export function hash(value: unknown, path: string): void {
  if (typeof value !== 'string' || !HASH.test(value))
    throw invalid(`${path} must be a 32-byte hex digest`, path);
}
export function int(value: unknown, min: number, max: number, path: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
    throw invalid(`${path} must be an integer from ${min} to ${max}`, path);
}
export function date(value: unknown, path: string): number {
  const day = parseDate(value);
  if (day === undefined) throw invalid(`${path} must be a date YYYY-MM-DD`, path);
  return day;
}

export function checkItems(value: unknown, start: number | undefined, path: string): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_ITEMS)
    throw invalid(`${path} must list 1-${MAX_ITEMS} line items`, path);
  const codes = new Set<unknown>();
  value.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw invalid(`${at} must be an object`, at);
    fields(item as JsonObject, ['code', 'monthly', 'until'], at);
    const { code: c, monthly, until } = item as JsonObject;
    code(c, `${at}.code`);
    if (codes.has(c)) throw invalid(`${at}.code: ${String(c)} twice`, at);
    codes.add(c);
    int(monthly, 1, MAX_MONTHLY, `${at}.monthly`);
    if (until !== undefined) {
      const day = date(until, `${at}.until`);
      if (start !== undefined && day <= start) throw invalid(`${at}.until must be after the start date`, at);
    }
  });
}

export function checkTermsChange(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('changes must be an object', 'changes');
  const changes = value as JsonObject;
  fields(changes, ['items', 'months', 'reportEveryMonths'], 'changes');
  if (Object.keys(changes).length === 0) throw invalid('changes is empty', 'changes');
  if (changes.items !== undefined) checkItems(changes.items, undefined, 'changes.items');
  if (changes.months !== undefined && changes.months !== null)
    int(changes.months, 1, MAX_MONTHS, 'changes.months');
  if (changes.reportEveryMonths !== undefined)
    int(changes.reportEveryMonths, 0, 12, 'changes.reportEveryMonths');
}

export function checkCosignatures(value: unknown): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_COSIGNATURES)
    throw invalid(`cosignatures must list 1-${MAX_COSIGNATURES} co-signatures`, 'cosignatures');
  value.forEach((cs, i) => {
    const at = `cosignatures[${i}]`;
    if (typeof cs !== 'object' || cs === null || Array.isArray(cs))
      throw invalid(`${at} must be an object`, at);
    fields(cs as JsonObject, ['as', 'publicKey', 'signature'], at);
    checkActing((cs as JsonObject).as, `${at}.as`);
    if (!isValidPublicKey((cs as JsonObject).publicKey))
      throw invalid(`${at}.publicKey must be an Ed25519 key`, at);
    const signature = (cs as JsonObject).signature;
    if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature))
      throw invalid(`${at}.signature must be 64 bytes of hex`, at);
  });
}
