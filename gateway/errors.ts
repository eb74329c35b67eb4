/**
 * The gateway's stable error codes. Every 4xx body is `{ code, message }`; a support system
 * branches on the code. Codes the node returns (TX_*, PII_REJECTED, CONTRACT_STATE, …) pass
 * through unchanged with the node's status, so one list of codes covers both hops.
 */
export type GatewayErrorCode =
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'AUTH_REQUIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_WRONG_AUDIENCE'
  | 'TOKEN_WRONG_ISSUER'
  | 'TOKEN_NO_CVR'
  | 'CERT_UNTRUSTED'
  | 'CERT_NO_CVR'
  | 'CVR_NOT_SERVED'
  | 'NO_SERVICE_AGREEMENT'
  | 'ROLE_NOT_PERMITTED'
  | 'ROLE_REQUIRED'
  | 'KLE_NOT_PERMITTED'
  | 'NOT_PARTY_TO_CONTRACT'
  | 'TRANSACTION_ID_INVALID'
  | 'SIGNER_NOT_CALLER'
  | 'PII_REJECTED'
  | 'RATE_LIMITED'
  | 'NO_SUBMITTER_KEY'
  | 'NODE_UNAVAILABLE'
  | 'CHAIN_UNVERIFIED'
  | 'FINALITY_TIMEOUT'
  | 'INTERNAL';

export const gatewayStatusOf: Record<GatewayErrorCode, number> = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
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
  ROLE_REQUIRED: 400,
  KLE_NOT_PERMITTED: 403,
  NOT_PARTY_TO_CONTRACT: 403,
  TRANSACTION_ID_INVALID: 400,
  SIGNER_NOT_CALLER: 403,
  PII_REJECTED: 422,
  RATE_LIMITED: 429,
  NO_SUBMITTER_KEY: 503,
  NODE_UNAVAILABLE: 503,
  CHAIN_UNVERIFIED: 502,
  FINALITY_TIMEOUT: 504,
  INTERNAL: 500,
};

/** An error that leaves the gateway as `{ code, message }` with `status`. */
export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.status = gatewayStatusOf[code];
    this.details = details;
  }
  /** A code and status decided by the node (admission or the chain's modules), relayed as is. */
  static fromNode(status: number, code: string, message: string): GatewayError {
    const e = new GatewayError('BAD_REQUEST', message);
    (e as { code: string }).code = code;
    (e as { status: number }).status = status >= 400 && status < 500 ? status : 502;
    return e;
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;

/**
 * HTTP status for a code the chain's modules put on a rejected transaction (node/state/contracts
 * README). A transaction rejected in a block has no HTTP status of its own; the gateway gives it
 * this one when it reports the outcome of `?wait=true`.
 */
export const CHAIN_REJECTION_STATUS: Record<string, number> = {
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
  POLICY_NOT_SATISFIED: 403,
  APPROVAL_NOT_ALLOWED: 403,
  APPROVAL_EXPIRED: 409,
  APPROVAL_EXISTS: 409,
  REPORT_PERIOD_INVALID: 422,
  REPORT_EXISTS: 409,
  PII_REJECTED: 422,
  TX_PAYLOAD_INVALID: 400,
  TX_EXPIRED: 400,
  TX_DUPLICATE: 409,
  ANCHOR_EXISTS: 409,
};
