/**
 * Errors that cross a boundary carry a stable code. The API turns a `TillidError` into a 4xx whose
 * body names the code, so support systems can branch on it without parsing messages.
 *
 * This is the one code → HTTP status table of the chain: the node API answers with it, and the
 * gateway imports it (gateway/errors.ts adds only its own codes), so the two cannot drift. The
 * codes a block's receipt can carry are the same codes; `TX_FAILED` is the receipt of a module
 * that failed without a typed error.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'TX_MALFORMED'
  | 'TX_BAD_SIGNATURE'
  | 'TX_WRONG_CHAIN'
  | 'TX_EXPIRED'
  | 'TX_EXPIRY_TOO_FAR'
  | 'TX_DUPLICATE'
  | 'TX_UNKNOWN_TYPE'
  | 'TX_PAYLOAD_INVALID'
  | 'TX_TOO_LARGE'
  | 'PII_REJECTED'
  | 'MEMPOOL_FULL'
  | 'ANCHOR_EXISTS'
  | 'GOVERNANCE_REFUSED'
  | 'EVIDENCE_EXISTS'
  | 'PARTY_EXISTS'
  | 'PARTY_NOT_FOUND'
  | 'PARTY_KEY_UNKNOWN'
  | 'PARTY_KEY_REVOKED'
  | 'PARTY_KEY_IN_USE'
  | 'ROLE_NOT_ALLOWED'
  | 'PARTY_NOT_ON_CONTRACT'
  | 'TEMPLATE_EXISTS'
  | 'TEMPLATE_NOT_FOUND'
  | 'CONTRACT_NOT_FOUND'
  | 'CONTRACT_STATE'
  | 'MOTION_NOT_FOUND'
  | 'APPROVAL_NOT_ALLOWED'
  | 'APPROVAL_EXPIRED'
  | 'APPROVAL_EXISTS'
  | 'REPORT_PERIOD_INVALID'
  | 'REPORT_EXISTS'
  | 'COSIGNATURE_INVALID'
  | 'TX_FAILED'
  | 'NOT_FOUND'
  | 'STATE_PRUNED'
  | 'NOT_READY'
  | 'INTERNAL';

/** HTTP status for each code; anything a client can fix is a 4xx; only the node's own failures are 5xx. */
export const httpStatusOf: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  TX_MALFORMED: 400,
  TX_BAD_SIGNATURE: 400,
  TX_WRONG_CHAIN: 400,
  TX_EXPIRED: 400,
  TX_EXPIRY_TOO_FAR: 400,
  TX_DUPLICATE: 409,
  TX_UNKNOWN_TYPE: 400,
  TX_PAYLOAD_INVALID: 400,
  TX_TOO_LARGE: 413,
  PII_REJECTED: 422,
  MEMPOOL_FULL: 429,
  ANCHOR_EXISTS: 409,
  GOVERNANCE_REFUSED: 403,
  EVIDENCE_EXISTS: 409,
  PARTY_EXISTS: 409,
  PARTY_NOT_FOUND: 404,
  PARTY_KEY_UNKNOWN: 403,
  PARTY_KEY_REVOKED: 403,
  PARTY_KEY_IN_USE: 409,
  ROLE_NOT_ALLOWED: 403,
  PARTY_NOT_ON_CONTRACT: 403,
  TEMPLATE_EXISTS: 409,
  TEMPLATE_NOT_FOUND: 404,
  CONTRACT_NOT_FOUND: 404,
  CONTRACT_STATE: 409,
  MOTION_NOT_FOUND: 404,
  APPROVAL_NOT_ALLOWED: 403,
  APPROVAL_EXPIRED: 409,
  APPROVAL_EXISTS: 409,
  REPORT_PERIOD_INVALID: 422,
  REPORT_EXISTS: 409,
  COSIGNATURE_INVALID: 403,
  // A module failed on a transaction without a typed error (a bug): not the caller's to fix.
  TX_FAILED: 500,
  NOT_FOUND: 404,
  // A proof at a height whose state tree this node no longer keeps (its stateRetention): ask at a
  // later height, or a node that keeps more.
  STATE_PRUNED: 410,
  NOT_READY: 503,
  INTERNAL: 500,
};

/**
 * The one base class of errors that leave a server as `{ code, message, details? }` with `status`.
 * The node's `TillidError` and the gateway's `GatewayError` are its only kinds.
 */
export class CodedError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'CodedError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export const isCodedError = (e: unknown): e is CodedError => e instanceof CodedError;

export class TillidError extends CodedError {
  declare readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, httpStatusOf[code], message, details);
    this.name = 'TillidError';
  }
}

export const isTillidError = (e: unknown): e is TillidError => e instanceof TillidError;
