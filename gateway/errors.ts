/**
 * The gateway's stable error codes. Every 4xx/5xx body is `{ code, message }`; a support system
 * branches on the code. The gateway's table is the node's (node/protocol/errors.ts — the codes of
 * admission and of the chain's modules, relayed with the node's status) extended by the gateway's
 * own codes below, so one list covers both hops and cannot drift from the chain. gateway/README.md
 * documents every code; a test holds the list and the README together.
 */
import { CodedError, type ErrorCode, httpStatusOf } from '../node/protocol/errors.ts';

/** The gateway's own codes: authentication, authorisation, routing to nodes, documents, events. */
const GATEWAY_ONLY = {
  AUTH_REQUIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_WRONG_AUDIENCE: 401,
  TOKEN_WRONG_ISSUER: 401,
  TOKEN_NO_CVR: 401,
  CERT_UNTRUSTED: 401,
  CERT_NO_CVR: 401,
  CVR_NOT_SERVED: 403,
  NO_SERVICE_AGREEMENT: 403,
  ROLE_NOT_PERMITTED: 403,
  /** The caller could act in several roles and must name one (an approval never defaults to the most senior). */
  ROLE_REQUIRED: 400,
  KLE_NOT_PERMITTED: 403,
  NOT_PARTY_TO_CONTRACT: 403,
  TRANSACTION_ID_INVALID: 400,
  SIGNER_NOT_CALLER: 403,
  RATE_LIMITED: 429,
  NO_SUBMITTER_KEY: 503,
  NODE_UNAVAILABLE: 503,
  /** A node answered with a code this gateway does not know (a newer node); the message names it. */
  NODE_REFUSED: 502,
  CHAIN_UNVERIFIED: 502,
  FINALITY_TIMEOUT: 504,
  DOCUMENT_EMPTY: 400,
  DOCUMENT_TOO_LARGE: 413,
  DOCUMENT_FORBIDDEN: 403,
  DOCUMENT_NOT_FOUND: 404,
  DOCUMENT_ERASED: 410,
  // The stored content no longer matches its commitment: refused rather than served. A 4xx as the
  // issue asks for every refusal; 409 because the store's state conflicts with the chain's record.
  DOCUMENT_HASH_MISMATCH: 409,
  DOCUMENT_STORE_FAILED: 500,
  WEBHOOK_URL_INVALID: 400,
  WEBHOOK_NOT_FOUND: 404,
  TOO_MANY_STREAMS: 503,
  // A citizen asked for a case the municipality's case system does not give them (theirs or a child's in their custody).
  CASE_NOT_YOURS: 403,
  // A citizen's comment or correction request refused before anything is stored (gateway/citizens/messages.ts).
  MESSAGE_REFUSED: 400,
  // Consent and power of attorney (gateway/citizens/grants.ts): no grant with that code or id for this person,
  GRANT_NOT_FOUND: 404,
  // its period is over,
  GRANT_EXPIRED: 403,
  // the citizen who gave it revoked it,
  GRANT_REVOKED: 403,
  // or the one who gave it no longer has the case (custody ended).
  GRANT_LAPSED: 403,
  // The web console's refusals (gateway/console), shown to a person as a Danish sentence with the code.
  /** A console form field is wrong; the page's sentence names the field. */
  FORM_INVALID: 400,
  /** A console form without this session's CSRF token, or sent from another origin. */
  CSRF: 403,
  /** A console page or form without a live session. */
  LOGIN_REQUIRED: 401,
  /** The identity provider's answer did not verify (state, nonce, PKCE, signature, expiry). */
  LOGIN_FAILED: 401,
  /** A case number that is not a case number (markup, too long) or looks like a CPR number. */
  CASE_NUMBER_INVALID: 400,
} as const;

export type GatewayErrorCode = ErrorCode | keyof typeof GATEWAY_ONLY;

export const gatewayStatusOf: Readonly<Record<GatewayErrorCode, number>> = {
  ...httpStatusOf,
  ...GATEWAY_ONLY,
};

const isKnown = (code: string): code is GatewayErrorCode => Object.hasOwn(gatewayStatusOf, code);

/** An error that leaves the gateway as `{ code, message }` with its code's status. */
export class GatewayError extends CodedError {
  declare readonly code: GatewayErrorCode;
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, gatewayStatusOf[code], message, details);
    this.name = 'GatewayError';
  }
  /**
   * A code decided by a node (admission or the chain's modules), relayed with the status the shared
   * table gives it. A code the gateway does not know leaves as NODE_REFUSED, naming it.
   */
  static fromNode(code: string, message: string): GatewayError {
    if (isKnown(code)) return new GatewayError(code, message);
    return new GatewayError('NODE_REFUSED', `the node refused with ${code}: ${message}`, { nodeCode: code });
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;
