/**
 * The municipality's case system as the citizens' pages need it: an adapter interface, so the
 * gateway never keeps or decides who a citizen is. The CPR number the citizen login asserts is
 * handed to `identify` once, at login, and forgotten; from then on the session holds only the
 * case system's opaque handle, and every page asks `casesOf` afresh — so custody (a guardian's
 * access to a child's cases) follows the case system at each request, not a copy in the gateway.
 *
 * Case numbers become the console's case references (`../console/case-ref.ts`) before they are
 * used: the chain and the nodes only ever see the pseudonym.
 *
 * The emulator behind it for tests and `npm start` is `../emulators/case-system-emulator.ts`.
 */

/** Whose case it is, as the guardian sees it. */
export type CaseSubject =
  | { readonly kind: 'self' }
  /** A child in the citizen's custody; the first name is shown to the guardian, never stored. */
  | { readonly kind: 'child'; readonly firstName: string };

export interface CitizenCase {
  /** The municipality's case number (ESDH style), e.g. `27.12.04-G01-7-26`. */
  readonly caseNumber: string;
  readonly subject: CaseSubject;
}

export interface CitizenCases {
  /** CVR of the municipality whose case system answered. */
  readonly municipality: string;
  /** The citizen's own cases and those of the children in their custody, now. */
  readonly cases: readonly CitizenCase[];
}

/**
 * A citizen's comment on, or request to correct, a service: delivered to the case system as an
 * event in its inbox. The case system (the municipality's system of record) answers it; the gateway
 * keeps only the salted commitment's receipt and asks the case system for its status.
 */
export interface CitizenMessage {
  /** The gateway's id of the message (a random UUID). */
  readonly id: string;
  readonly kind: 'comment' | 'correction';
  /** The case it concerns, as the case system numbers it. */
  readonly caseNumber: string;
  /** The contract (service) it concerns, by its id on chain. */
  readonly contract: string;
  readonly text: string;
  /** The salted commitment anchored on chain (the citizen's receipt), and its transaction. */
  readonly commitment: string;
  readonly anchorTx: string;
  readonly sentAt: string;
}

/** Where a message is: in the case system's inbox, or answered by a caseworker. */
export type MessageStatus = 'received' | 'handled';

export interface CaseSystem {
  /**
   * A CPR number → the case system's opaque handle for the citizen, or undefined when the
   * municipality has no cases for them. The only call that ever sees a CPR number.
   */
  identify(cpr: string): Promise<string | undefined>;
  /** The cases the handle's citizen may see now; undefined when the handle is no longer known. */
  casesOf(handle: string): Promise<CitizenCases | undefined>;
  /** The name of a provider the municipality contracts with (from its supplier register). */
  organisationName(cvr: string): Promise<string | undefined>;
  /** Delivers a citizen's message (from the citizen behind `handle`) to the case system's inbox. */
  deliver(handle: string, message: CitizenMessage): Promise<void>;
  /** The status of a delivered message; undefined when the case system does not know it. */
  messageStatus(id: string): Promise<MessageStatus | undefined>;
}
