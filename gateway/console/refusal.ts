/**
 * Any error a console route throws → what the person sees: a status, one of the gateway's
 * documented codes (`../errors.ts`, table in `../README.md`) and a Danish sentence. The console's
 * own refusals carry their code; the framework's (schema validation, a body over its limit) are
 * mapped onto the table's codes, so the code on an error page is always a documented one.
 */
import { type GatewayErrorCode, gatewayStatusOf, isGatewayError } from '../errors.ts';
import { CaseNumberError } from './case-ref.ts';
import { ERROR_DA } from './danish.ts';
import { FormError } from './forms.ts';

export interface Refusal {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly message: string;
}

const said = (code: GatewayErrorCode, message?: string): Refusal => ({
  status: gatewayStatusOf[code],
  code,
  message: message ?? ERROR_DA[code] ?? `Afvist (${code}).`,
});

/** The framework's 4xx statuses the console can meet, by the table's code for them. */
const FRAMEWORK: Readonly<Record<number, GatewayErrorCode>> = {
  404: 'NOT_FOUND',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

export function consoleRefusal(error: unknown): Refusal {
  if (error instanceof FormError) return said(error.code, error.message);
  if (error instanceof CaseNumberError) return said(error.code, error.message);
  // A KLE refusal names the subject the person's privileges do not cover.
  if (isGatewayError(error) && error.code === 'KLE_NOT_PERMITTED' && typeof error.details?.kle === 'string')
    return said(
      error.code,
      `Dine rettigheder dækker ikke KLE-emnet ${error.details.kle}; du kan kun handle inden for dine egne KLE-emner.`,
    );
  if (isGatewayError(error)) return said(error.code);
  if ((error as { validation?: unknown }).validation) return said('FORM_INVALID');
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return said(FRAMEWORK[status] ?? 'FORM_INVALID');
  return said('INTERNAL');
}
