/**
 * The payload of every transaction type a client signs, typed from the node's own definitions.
 *
 * This is the one file that knows payload shapes. When the node's payloads become JSON schemas
 * (issue 10, item 2), the interfaces below become `Static<typeof schema>` of those schemas and
 * nothing else in the client changes. The node checks every payload at admission and again in the
 * block; these types only let a caller's compiler catch what the node would refuse.
 */
import type { Hex } from '../node/protocol/hash.ts';
import type { ApprovalPolicy, Party, Role } from '../node/state/contracts/policy.ts';
import type { LineItem } from '../node/state/contracts/terms.ts';
import type { MotionAction } from '../node/state/modules/contract.ts';

export type { ApprovalPolicy, LineItem, MotionAction, Party, Role };

/** Who acts: a party (CVR), the role claimed, and a pseudonymous actor id (64 hex — never a name). */
export interface Acting {
  readonly party: string;
  readonly role: Role;
  readonly actor: Hex;
}

// ---- anchor -----------------------------------------------------------------------------------

export interface AnchorRecordPayload {
  /** SHA-256 of the (salted) document, hex. */
  readonly hash: Hex;
  /** A short code such as `status-report`. */
  readonly docType: string;
  /** An opaque reference of 1-128 characters [A-Za-z0-9._:/#-]. */
  readonly ref: string;
}

// ---- party ------------------------------------------------------------------------------------

export interface KeyGrant {
  readonly publicKey: Hex;
  readonly roles: readonly Role[];
  /** May this key manage the party's keys? */
  readonly admin?: boolean;
}

export interface PartyRegisterPayload {
  readonly cvr: string;
  readonly kind: Party;
  readonly keys: readonly KeyGrant[];
}

export interface PartyAddKeyPayload {
  readonly cvr: string;
  readonly key: KeyGrant;
}

export interface PartyRevokeKeyPayload {
  readonly cvr: string;
  readonly publicKey: Hex;
}

// ---- contract ---------------------------------------------------------------------------------

export interface DefineTemplatePayload {
  readonly as: Acting;
  /** Short code; the template's id is `<municipality CVR>/<code>`. */
  readonly code: string;
  readonly policies: Readonly<Record<MotionAction, ApprovalPolicy>>;
  readonly releaseWithheldOnReport: boolean;
  readonly approvalLifetimeDays: number;
}

export interface CreateContractPayload {
  readonly as: Acting;
  /** `<municipality CVR>/<code>` */
  readonly template: string;
  /** The provider's CVR. */
  readonly provider: string;
  /** YYYY-MM-DD, day 1-28. */
  readonly start: string;
  /** Number of months; omitted runs until terminated. */
  readonly months?: number;
  readonly items: readonly LineItem[];
  /** A status report every n-th month; 0 for none. */
  readonly reportEveryMonths: number;
  readonly parent?: Hex;
  readonly onParentEnd?: 'terminate' | 'suspend';
  readonly kle?: string;
  readonly document?: Hex;
}

export interface TermsChange {
  readonly items?: readonly LineItem[];
  readonly months?: number | null;
  readonly reportEveryMonths?: number;
}

export interface Cosignature {
  readonly as: Acting;
  readonly publicKey: Hex;
  readonly signature: Hex;
}

export interface ProposePayload {
  readonly as: Acting;
  readonly contract: Hex;
  readonly action: MotionAction;
  /** Only for `amend`. */
  readonly changes?: TermsChange;
  /** A short code, not free text. */
  readonly reason?: string;
  readonly document?: Hex;
  readonly cosignatures?: readonly Cosignature[];
}

export interface ApprovePayload {
  readonly as: Acting;
  readonly motion: Hex;
}

export interface ReportPayload {
  readonly as: Acting;
  readonly contract: Hex;
  readonly period: number;
  readonly document: Hex;
}

// ---- governance -------------------------------------------------------------------------------

export interface GovernanceProposePayload {
  readonly action: 'add' | 'remove';
  readonly name: string;
  readonly cvr: string;
  readonly publicKey: Hex;
  readonly address?: string;
}

export interface GovernanceVotePayload {
  readonly proposal: Hex;
}

/** Every transaction type a client signs, with its payload. */
export interface Payloads {
  'anchor.record': AnchorRecordPayload;
  'party.register': PartyRegisterPayload;
  'party.addKey': PartyAddKeyPayload;
  'party.revokeKey': PartyRevokeKeyPayload;
  'contract.defineTemplate': DefineTemplatePayload;
  'contract.create': CreateContractPayload;
  'contract.propose': ProposePayload;
  'contract.approve': ApprovePayload;
  'contract.report': ReportPayload;
  'governance.propose': GovernanceProposePayload;
  'governance.vote': GovernanceVotePayload;
}

export type TransactionType = keyof Payloads;
