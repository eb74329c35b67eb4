/**
 * The contract application's records and its state layout (private to `state/contracts/`; the API
 * reads it through `read-models.ts` and the module's queries):
 *
 *   contract/template/<cvr>/<code>   Template
 *   contract/<id>                    ContractRecord (id = hash of the contract.create transaction)
 *   contract/<id>/t/<n>              the contract's timeline: ids of every event about it, in order
 *   contract/motion/<id>             Motion (id = hash of the contract.propose transaction)
 *   contract/by/<cvr>                list (lists.ts) of the contracts a party is on
 *   contract/agenda/<day>            list of contracts with a monthly due date that day
 *   contract/clock                   the last business day whose agenda was processed
 *   payment/<municipality>/<YYYY-MM> list of the payment decisions made in that month
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import { MOTION_ACTIONS } from '../../schemas/contract.ts';
import type { StateReader, StateWriter } from '../module.ts';
import type { Approval, ApprovalPolicy, Role } from './policy.ts';
import type { Terms } from './terms.ts';

export { MOTION_ACTIONS };
export type MotionAction = (typeof MOTION_ACTIONS)[number];

export interface Template {
  readonly id: string;
  readonly municipality: string;
  readonly code: string;
  readonly policies: Readonly<Record<MotionAction, ApprovalPolicy>>;
  readonly releaseWithheldOnReport: boolean;
  readonly approvalLifetimeDays: number;
  readonly definedAt: number;
}

export type ContractStatus = 'draft' | 'active' | 'suspended' | 'terminated' | 'expired';

export interface TermsVersion {
  readonly terms: Terms;
  /** The first period these terms apply to. */
  readonly fromPeriod: number;
  readonly height: number;
  readonly motion?: Hex;
}

export interface ContractRecord {
  readonly id: Hex;
  readonly template: string;
  readonly municipality: string;
  readonly provider: string;
  readonly kle?: string;
  /** The municipality's case pseudonym (`contract.create`'s `caseRef`), when given. */
  readonly caseRef?: Hex;
  readonly start: string;
  readonly parent?: Hex;
  readonly onParentEnd?: 'terminate' | 'suspend';
  readonly children: readonly Hex[];
  readonly status: ContractStatus;
  /** Every version of the terms; the last is in force for undecided periods. */
  readonly versions: readonly TermsVersion[];
  /** Status reports by period: the document commitment and the height that recorded it. */
  readonly reports: Readonly<Record<string, { readonly document: Hex; readonly height: number }>>;
  readonly documents: readonly {
    readonly docType: string;
    readonly document: Hex;
    readonly height: number;
  }[];
  /** The last period with a payment decision; 0 before the first due date. */
  readonly decided: number;
  /** Total released, øre. */
  readonly released: number;
  /** Months withheld for a missing report that a late report can still release. */
  readonly releasable: readonly { readonly period: number; readonly amount: number }[];
  readonly lapsed: readonly string[];
  /** The business day on whose agenda the contract's next due date sits. */
  readonly scheduledFor?: number;
  readonly createdAt: number;
  readonly endedOn?: string;
  /** Number of timeline entries. */
  readonly timeline: number;
}

export interface MotionApproval extends Approval {
  readonly cvr: string;
  readonly height: number;
}

export interface Motion {
  readonly id: Hex;
  readonly contract: Hex;
  readonly action: MotionAction;
  readonly changes?: JsonObject;
  readonly reason?: string;
  readonly document?: Hex;
  readonly proposer: { readonly cvr: string; readonly role: Role; readonly actor: string };
  readonly proposedAt: number;
  /** The last business day on which it can be approved. */
  readonly expiresOn: string;
  readonly approvals: readonly MotionApproval[];
  readonly status: 'open' | 'executed';
  readonly executedAt?: number;
}

export const templateKey = (id: string) => `contract/template/${id}`;
export const contractKey = (id: Hex) => `contract/${id}`;
export const timelineKey = (id: Hex, n: number) => `contract/${id}/t/${n}`;
export const motionKey = (id: Hex) => `contract/motion/${id}`;
export const byPartyKey = (cvr: string) => `contract/by/${cvr}`;
export const agendaKey = (day: number) => `contract/agenda/${day}`;
export const CLOCK = 'contract/clock';
export const paymentsKey = (municipality: string, month: string) => `payment/${municipality}/${month}`;

export const MAX_CHILDREN = 32;

export const hasEnded = (c: ContractRecord): boolean => c.status === 'terminated' || c.status === 'expired';

export const invalid = (message: string, path?: string) =>
  new TillidError('TX_PAYLOAD_INVALID', message, path ? { path } : undefined);
export const wrongState = (message: string) => new TillidError('CONTRACT_STATE', message);

export const read = <T>(state: StateReader, key: string): T | undefined =>
  state.get(key) as unknown as T | undefined;
export const write = (state: StateWriter, key: string, value: unknown): void => state.set(key, value as Json);

export const currentTerms = (c: ContractRecord): Terms =>
  (c.versions[c.versions.length - 1] as TermsVersion).terms;

/** The terms in force for `period`: the last version that applies from that period or earlier. */
export function termsFor(c: ContractRecord, period: number): Terms {
  let terms = (c.versions[0] as TermsVersion).terms;
  for (const v of c.versions) if (v.fromPeriod <= period) terms = v.terms;
  return terms;
}

export function requireContract(state: StateReader, id: Hex): ContractRecord {
  const c = read<ContractRecord>(state, contractKey(id));
  if (!c) throw new TillidError('CONTRACT_NOT_FOUND', `no contract ${id}`);
  return c;
}

export const readTemplate = (state: StateReader, id: string): Template | undefined =>
  read<Template>(state, templateKey(id));
