/**
 * The limits of transaction payloads, in one place. The node's admission (and every block) checks
 * payloads against schemas built from them, and the gateway's request bodies and OpenAPI documents
 * are derived from the same schemas — so a limit changed here changes both. Changing one is a
 * protocol change: a block accepted under the old limits must still replay.
 */
export interface PayloadLimits {
  /** Line items per contract or amendment. */
  readonly maxItems: number;
  /** Øre per month per line item (100 000 000 øre = 1 000 000 kr). */
  readonly maxMonthly: number;
  /** Months a contract may run; also the highest report period. */
  readonly maxMonths: number;
  /** A status report every 0 (never) to this many months. */
  readonly maxReportEveryMonths: number;
  /** Business days a motion stays open, at most. */
  readonly maxApprovalLifetimeDays: number;
  /** Co-signatures carried by one proposal. */
  readonly maxCosignatures: number;
}

export const LIMITS: PayloadLimits = {
  maxItems: 16,
  maxMonthly: 100_000_000,
  maxMonths: 120,
  maxReportEveryMonths: 12,
  maxApprovalLifetimeDays: 365,
  maxCosignatures: 8,
};
