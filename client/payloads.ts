/**
 * The payload of every transaction type a client signs, as the node defines it: each type is the
 * static type of the node's own payload schema (`node/schemas/`), the same definition the node
 * validates with at admission and the gateway derives its request bodies from. This is the one
 * file that knows where payload shapes come from; nothing else in the client names a field list.
 */
import type { Static } from '@sinclair/typebox';
import type { anchorSchemas } from '../node/schemas/anchor.ts';
import type { ContractSchemas, MOTION_ACTIONS } from '../node/schemas/contract.ts';
import type { governanceSchemas } from '../node/schemas/governance.ts';
import type { PartyKeyInput, partySchemas } from '../node/schemas/party.ts';
import type { Party, Role } from '../node/schemas/roles.ts';
import type { ApprovalPolicy } from '../node/state/contracts/policy.ts';

export type { ApprovalPolicy, Party, Role };

export type MotionAction = (typeof MOTION_ACTIONS)[number];

type Contract<A extends keyof ContractSchemas> = Static<ContractSchemas[A]>;

/** Who acts: a party (CVR), the role claimed, and a pseudonymous actor id (64 hex — never a name). */
export type Acting = Contract<'approve'>['as'];

export type AnchorRecordPayload = Static<typeof anchorSchemas.record>;

export type KeyGrant = Static<typeof PartyKeyInput>;
export type PartyRegisterPayload = Static<typeof partySchemas.register>;
export type PartyAddKeyPayload = Static<typeof partySchemas.addKey>;
export type PartyRevokeKeyPayload = Static<typeof partySchemas.revokeKey>;

/** The schema checks that a policy is an object; its meaning is the node's `ApprovalPolicy`. */
export type DefineTemplatePayload = Omit<Contract<'defineTemplate'>, 'policies'> & {
  readonly policies: Readonly<Record<MotionAction, ApprovalPolicy>>;
};
export type CreateContractPayload = Contract<'create'>;
export type LineItem = CreateContractPayload['items'][number];
export type ProposePayload = Contract<'propose'>;
export type TermsChange = NonNullable<ProposePayload['changes']>;
export type Cosignature = NonNullable<ProposePayload['cosignatures']>[number];
export type ApprovePayload = Contract<'approve'>;
export type ReportPayload = Contract<'report'>;

export type GovernanceProposePayload = Static<typeof governanceSchemas.propose>;
export type GovernanceVotePayload = Static<typeof governanceSchemas.vote>;
export type GovernanceRotatePayload = Static<typeof governanceSchemas.rotate>;

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
  'governance.rotate': GovernanceRotatePayload;
}

export type TransactionType = keyof Payloads;
