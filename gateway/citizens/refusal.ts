/**
 * A refusal on the citizens' pages: a stable code of the gateway's error table (`../errors.ts`,
 * its HTTP status from there) with a sentence in plain Danish saying what to do, shown as it is.
 */
import { FormError } from '../console/forms.ts';
import { type GatewayErrorCode, gatewayStatusOf } from '../errors.ts';

export class CitizenRefusal extends FormError {
  constructor(code: GatewayErrorCode, danish: string) {
    super(danish, gatewayStatusOf[code], code);
  }
}
