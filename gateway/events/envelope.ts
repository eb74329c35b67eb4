/**
 * The event-distributor envelope (Beskedfordeler style). The distributor filters on data in the
 * envelope, never in the message body: message type (beskedtype), allowed receivers (tilladt
 * modtager, CVR), responsible authority (ansvarlig myndighed, CVR) and subject (KLE). The body is the
 * chain event unchanged. The same event always produces the same bytes, so a redelivery is
 * byte-identical to the first delivery.
 */
import type { ProvenAt } from '../proofs/checker.ts';
import { type ChainEvent, provenAt } from './feed.ts';

export interface EventEnvelope {
  readonly envelope: {
    /** `tillid.<event type>`, e.g. `tillid.payment.released`. */
    readonly messageType: string;
    /** The event id `<height>-<n>`: a receiver's key for recognising duplicates. */
    readonly eventId: string;
    readonly chainId: string;
    readonly height: number;
    /** CVRs allowed to receive the event; empty means every member (e.g. a membership change). */
    readonly allowedReceivers: readonly string[];
    /** The authority responsible for the case: the contract's municipality. */
    readonly responsibleAuthority?: string;
    /** KLE subject of the contract, e.g. `27.35.04`. */
    readonly kle?: string;
    /** The object the event is about. */
    readonly relatedObject?: { readonly type: 'contract' | 'party'; readonly id: string };
    /**
     * The certified block the gateway verified the event against (a proof of the event page under
     * its state root): a receiver can fetch that block and check the event again itself.
     */
    readonly provenAt?: ProvenAt;
  };
  readonly event: ChainEvent;
}

export interface EventRouting {
  readonly allowedReceivers: readonly string[];
  readonly responsibleAuthority?: string;
}

const CVR = /^\d{8}$/;

/**
 * Who may receive an event: the parties it is about. Contract, report and payment events go to the
 * contract's municipality and provider, with the municipality responsible; party events to the
 * party and its registrar; anything else (membership changes) to every member.
 */
export function defaultRouting(event: ChainEvent): EventRouting {
  const cvrs = (...values: unknown[]) =>
    [...new Set(values.filter((v): v is string => typeof v === 'string' && CVR.test(v)))].sort();
  if (typeof event.municipality === 'string' || typeof event.provider === 'string') {
    return {
      allowedReceivers: cvrs(event.municipality, event.provider),
      ...(typeof event.municipality === 'string' ? { responsibleAuthority: event.municipality } : {}),
    };
  }
  if (event.type.startsWith('party.') && typeof event.cvr === 'string') {
    const responsible = typeof event.registrar === 'string' ? event.registrar : event.cvr;
    return { allowedReceivers: cvrs(event.cvr, event.registrar), responsibleAuthority: responsible };
  }
  return { allowedReceivers: [] };
}

export function envelopeOf(
  event: ChainEvent,
  chainId: string,
  route: (event: ChainEvent) => EventRouting = defaultRouting,
): EventEnvelope {
  const routing = route(event);
  const proven = provenAt(event);
  const related =
    typeof event.contract === 'string'
      ? { type: 'contract' as const, id: event.contract }
      : event.type.startsWith('party.') && typeof event.cvr === 'string'
        ? { type: 'party' as const, id: event.cvr }
        : undefined;
  return {
    envelope: {
      messageType: `tillid.${event.type}`,
      eventId: event.id,
      chainId,
      height: event.height,
      allowedReceivers: routing.allowedReceivers,
      ...(routing.responsibleAuthority ? { responsibleAuthority: routing.responsibleAuthority } : {}),
      ...(typeof event.kle === 'string' ? { kle: event.kle } : {}),
      ...(related ? { relatedObject: related } : {}),
      ...(proven ? { provenAt: proven } : {}),
    },
    event,
  };
}

/** Whether an organisation may see the event: it is an allowed receiver, or the event is for all. */
export const visibleTo = (cvr: string, e: EventEnvelope): boolean =>
  e.envelope.allowedReceivers.length === 0 || e.envelope.allowedReceivers.includes(cvr);
