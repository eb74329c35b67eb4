/**
 * The reads the node API needs from finalized state, as one small interface. Callers (the API
 * routes, the node's status) ask questions; this file only knows which module's queries
 * (`Module.queries`) answer each, so a module's key layout stays its own business.
 */
import type { Genesis } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import { type BusinessClock, businessDay, clockOf, formatDate } from './contracts/calendar.ts';
import { contractQueries, eventsAfter } from './contracts/read-models.ts';
import { type ChainEvent, eventsAt } from './events.ts';
import type { StateReader } from './module.ts';
import { anchorQueries } from './modules/anchor.ts';
import { equivocations } from './modules/evidence.ts';
import { governanceQueries } from './modules/governance.ts';
import { partyQueries } from './party/module.ts';

type Record_ = Record<string, unknown>;

export interface StateQueries {
  /** Height of the finalized head these answers are read at. */
  head(): number;
  /** The chain's business clock and the business date of the finalized head (for status). */
  clock(): BusinessClock & { businessDate: string };
  anchor(hash: Hex): Record_ | undefined;
  /** The authority set from each height on, genesis first. */
  authoritySchedule(): unknown[];
  membershipProposal(id: Hex): Record_ | undefined;
  /** A key rotation, by its transaction hash. */
  keyRotation(id: Hex): Record_ | undefined;
  /** Equivocations recorded on chain. */
  equivocations(): unknown[];
  party(cvr: string): unknown;
  /** A contract with its timeline, motions, payments and report duties, as of today's business day. */
  contract(id: Hex): unknown;
  contracts(party: string): unknown[];
  /** Overdue and upcoming status reports on a party's contracts. */
  reports(party: string): unknown[];
  payments(municipality: string, month: string): unknown[];
  /** The decisions a party sees: a municipality its own, a provider those on its contracts. */
  paymentsFor(party: string, month: string): unknown[];
  /** Events after height `after`, up to `limit` (never splitting a height); continue from `next`. */
  eventsAfter(after: number, limit: number): { events: ChainEvent[]; next: number };
}

/** A finalized head: its height and block time, which is all the business clock needs. */
export interface HeadRef {
  readonly height: number;
  readonly timestamp: number;
}

/** Answers `StateQueries` from `state` (finalized state) and the head it belongs to. */
export function stateQueries(state: StateReader, genesis: Genesis, head: () => HeadRef): StateQueries {
  const clock = clockOf(genesis);
  const today = () => businessDay(clock, head());
  const governance = governanceQueries(genesis);
  return {
    head: () => head().height,
    clock: () => ({ ...clock, businessDate: formatDate(today()) }),
    anchor: (hash) => anchorQueries.anchor(state, hash) as Record_ | undefined,
    authoritySchedule: () => governance.schedule(state),
    membershipProposal: (id) => governance.proposal(state, id) as Record_ | undefined,
    keyRotation: (id) => governance.rotation(state, id) as Record_ | undefined,
    equivocations: () => equivocations(state),
    party: (cvr) => partyQueries.party(state, cvr),
    contract: (id) => contractQueries.contract(state, id, today()),
    contracts: (party) => contractQueries.contracts(state, party),
    reports: (party) => contractQueries.reports(state, party),
    payments: (municipality, month) => contractQueries.payments(state, municipality, month),
    paymentsFor: (party, month) => contractQueries.paymentsFor(state, party, month),
    eventsAfter: (after, limit) => eventsAfter(state, after, head().height, limit),
  };
}

/** The events one block emitted, read from that block's state writes (before or after commit). */
export const blockEvents = (writes: ReadonlyMap<string, unknown>, height: number): ChainEvent[] =>
  eventsAt({ get: (key) => writes.get(key) as ReturnType<StateReader['get']> }, height).filter(
    (e) => e !== undefined,
  );
