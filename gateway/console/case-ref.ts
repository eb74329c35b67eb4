/**
 * A municipality's case number → the case reference contracts carry on chain: HMAC-SHA256 under
 * the municipality's pseudonym secret (the key store's, domain-separated from actor ids by the
 * `case-number:v1` prefix, which no actor identity starts with). The case number itself never
 * leaves the gateway: not on chain, not in a URL, not in a log. Case numbers are short codes
 * (ESDH style, e.g. `27.12.04-G01-123-26`); anything else — markup, a CPR-like number — is refused.
 */
import type { Hex } from '../../node/protocol/hash.ts';
import type { KeyStore } from '../keystore.ts';

/** Refused with the gateway's documented code `CASE_NUMBER_INVALID` (400). */
export class CaseNumberError extends Error {
  readonly code = 'CASE_NUMBER_INVALID';
}

const SHAPE = /^[A-Za-z0-9][A-Za-z0-9./_-]{0,39}$/;
/** Six digits that could be a birth date, then four more: the CPR shape, with or without a dash. */
const CPR_LIKE = /(^|\D)\d{6}-?\d{4}(\D|$)/;

export function checkCaseNumber(input: string): string {
  const n = input.trim();
  if (CPR_LIKE.test(n)) throw new CaseNumberError('Sagsnummeret ligner et CPR-nummer og afvises.');
  if (!SHAPE.test(n))
    throw new CaseNumberError(
      'Et sagsnummer er 1-40 tegn: bogstaver, tal og . / _ - (fx 27.12.04-G01-123-26).',
    );
  return n;
}

export function caseReference(keys: KeyStore, cvr: string, caseNumber: string): Hex | undefined {
  return keys.pseudonym(cvr, `case-number:v1\n${checkCaseNumber(caseNumber)}`);
}
