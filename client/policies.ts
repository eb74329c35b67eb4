/**
 * Approval policies for templates: the node's own policy builders (`node/state/contracts/policy.ts`),
 * and the pilot's set, which most municipalities start from.
 */
import {
  allOf,
  anyOf,
  atLeastOf,
  bothParties,
  kOf,
  oneDirectorOrTwoCentreChiefs,
} from '../node/state/contracts/policy.ts';
import type { DefineTemplatePayload } from './payloads.ts';

export { allOf, anyOf, atLeastOf, bothParties, kOf, oneDirectorOrTwoCentreChiefs };

/**
 * The 2018 pilot's policies: a caseworker of each party activates or terminates; amending,
 * suspending or resuming takes one director or two centre chiefs of the municipality.
 */
export const pilotPolicies = (): DefineTemplatePayload['policies'] => ({
  activate: bothParties('caseworker'),
  amend: oneDirectorOrTwoCentreChiefs(),
  suspend: oneDirectorOrTwoCentreChiefs(),
  resume: oneDirectorOrTwoCentreChiefs(),
  terminate: bothParties('caseworker'),
});
