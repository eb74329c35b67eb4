/**
 * The console's forms: what a person typed, checked field by field with a message in Danish,
 * before anything is signed. The chain checks again (its payload schemas); these checks exist so
 * the person learns which field is wrong in words rather than as a schema path.
 */
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { type GatewayErrorCode, gatewayStatusOf } from '../errors.ts';

export type Form = Record<string, string>;

/**
 * A refusal the console words itself; the message is shown as it is (Danish). Its code is one of
 * the gateway's documented codes (`../errors.ts`) and its status is that code's, from the one table.
 * The older `(message, status, code)` call shape still compiles; its status is not used.
 */
export class FormError extends Error {
  readonly status: number;
  readonly code: GatewayErrorCode;
  constructor(message: string, ...rest: [] | [GatewayErrorCode] | [number, GatewayErrorCode]) {
    super(message);
    const code = (rest.length === 2 ? rest[1] : (rest[0] ?? 'FORM_INVALID')) as GatewayErrorCode;
    this.code = code;
    this.status = gatewayStatusOf[code];
  }
}

const CODE = /^[a-z][a-z0-9-]{0,31}$/;
/** A KLE subject code, as the chain's schema (node/schemas/common.ts) has it. */
const KLE = /^\d{2}(\.\d{2}){0,2}$/;
/** A whole number from a form field, or a FormError naming the field in Danish. */
export const int = (v: string | undefined, what: string, min: number, max: number): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v ?? '') || n < min || n > max)
    throw new FormError(`${what} skal være et helt tal fra ${min} til ${max}.`);
  return n;
};

/** The draft form → a `contract.create` payload; every field checked, with a message in Danish. */
export function draftPayload(cvr: string, caseRef: string, f: Form): JsonObject {
  const template = String(f.template ?? '').trim();
  if (!CODE.test(template))
    throw new FormError('Skabelonens kode er små bogstaver, tal og bindestreg (fx anbringelse).');
  const provider = String(f.provider ?? '').trim();
  if (!/^\d{8}$/.test(provider)) throw new FormError('Leverandørens CVR-nummer er 8 cifre.');
  const start = String(f.start ?? '');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start)) throw new FormError('Startdatoen skal være en dato.');
  const item = String(f.item ?? '').trim();
  if (!CODE.test(item)) throw new FormError('Ydelsens kode er små bogstaver, tal og bindestreg (fx ophold).');
  const parent = String(f.parent ?? '');
  if (parent !== '' && !/^[0-9a-f]{64}$/.test(parent))
    throw new FormError('Vælg hovedkontrakten fra listen.');
  const kle = String(f.kle ?? '').trim();
  if (kle !== '' && !KLE.test(kle))
    throw new FormError('KLE-emnet er to, fire eller seks cifre med punktum (fx 27.20.04).');
  const onParentEnd = String(f.onParentEnd ?? 'terminate');
  if (!['terminate', 'suspend'].includes(onParentEnd))
    throw new FormError('Vælg hvad der sker ved hovedkontraktens ophør.');
  return {
    template: `${cvr}/${template}`,
    provider,
    start,
    ...(f.months ? { months: int(f.months, 'Måneder', 1, 120) } : {}),
    items: [{ code: item, monthly: int(f.monthly, 'Prisen', 1, 1_000_000) * 100 }],
    reportEveryMonths: int(f.reportEveryMonths, 'Rapporteringen', 0, 12),
    caseRef,
    ...(kle ? { kle } : {}),
    ...(parent ? { parent, onParentEnd } : {}),
  };
}

/**
 * The "amend one line item" form → the `changes.items` of an amend motion: every item in force as
 * it is, but the chosen one with a new monthly price and/or a new last day (`until`, after the
 * contract's start; the chain checks it again). At least one of the two must be given.
 */
export function itemAmendment(
  items: readonly { code: string; monthly: number; until?: string }[],
  start: string,
  f: Form,
): { code: string; monthly: number; until?: string }[] {
  const chosen = String(f.ydelse ?? '');
  const index = items.findIndex((x) => x.code === chosen);
  if (index < 0) throw new FormError('Vælg ydelsen fra listen.');
  const price = String(f.pris ?? '').trim();
  const until = String(f.til ?? '').trim();
  if (price === '' && until === '') throw new FormError('Angiv en ny pris, en ny slutdato eller begge.');
  if (until !== '' && (!/^\d{4}-\d{2}-\d{2}$/.test(until) || Number.isNaN(Date.parse(until))))
    throw new FormError('Slutdatoen skal være en dato (åååå-mm-dd).');
  if (until !== '' && until <= start)
    throw new FormError(`Slutdatoen skal ligge efter kontraktens start (${start}).`);
  return items.map((x, i) => {
    if (i !== index) return { ...x };
    return {
      code: x.code,
      monthly: price === '' ? x.monthly : int(price, `Prisen for ${x.code}`, 1, 1_000_000) * 100,
      ...(until !== '' ? { until } : x.until ? { until: x.until } : {}),
    };
  });
}
