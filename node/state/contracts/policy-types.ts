/** The shapes of an approval policy (evaluated in policy.ts, put in words by policy-text.ts). */
import type { Party, Role } from '../../schemas/roles.ts';

/** n distinct actors of `party`, each approving in `role`. */
export interface SignersPolicy {
  readonly signers: number;
  readonly party: Party;
  readonly role: Role;
}
export interface AllOfPolicy {
  readonly all: readonly ApprovalPolicy[];
}
export interface AnyOfPolicy {
  readonly any: readonly ApprovalPolicy[];
}
export interface AtLeastPolicy {
  readonly atLeast: number;
  readonly of: readonly ApprovalPolicy[];
}
export type ApprovalPolicy = SignersPolicy | AllOfPolicy | AnyOfPolicy | AtLeastPolicy;
