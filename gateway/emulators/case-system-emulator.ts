/**
 * EMULATOR of a municipality's case system (not for production), behind the adapter interface
 * the citizens' pages use (`../citizens/case-system.ts`). It holds the only register of CPR
 * numbers in a test: THROWAWAY citizens with made-up CPR numbers, their case numbers and the
 * children in their custody. Handles are random per emulator run, so nothing derived from a CPR
 * number leaves it.
 */
import { randomBytes } from 'node:crypto';
import type {
  CaseSystem,
  CitizenCase,
  CitizenCases,
  CitizenMessage,
  MessageStatus,
} from '../citizens/case-system.ts';

export interface EmulatedCaseRecord {
  /** A made-up CPR number. */
  readonly cpr: string;
  readonly firstName: string;
  /** The citizen's own case numbers. */
  readonly caseNumbers: readonly string[];
  /** CPR numbers of the children in this citizen's custody. */
  readonly custodyOf?: readonly string[];
}

/** A message in the emulator's inbox, as a caseworker's queue would show it. */
export interface InboxItem {
  readonly message: CitizenMessage;
  /** Who sent it (the case system knows its citizens; it never leaves the emulator). */
  readonly fromCpr: string;
  status: MessageStatus;
}

export class CaseSystemEmulator implements CaseSystem {
  readonly #municipality: string;
  readonly #byCpr: Map<string, EmulatedCaseRecord>;
  /** The case system's inbox of citizens' messages, oldest first: a caseworker's queue. */
  readonly inbox: InboxItem[] = [];
  readonly #organisations: Readonly<Record<string, string>>;
  readonly #handles = new Map<string, string>();

  constructor(o: {
    municipality: string;
    records: readonly EmulatedCaseRecord[];
    organisations?: Readonly<Record<string, string>>;
  }) {
    this.#municipality = o.municipality;
    this.#byCpr = new Map(o.records.map((r) => [r.cpr, r]));
    this.#organisations = o.organisations ?? {};
  }

  async identify(cpr: string): Promise<string | undefined> {
    if (!this.#byCpr.has(cpr)) return undefined;
    for (const [handle, known] of this.#handles) if (known === cpr) return handle;
    const handle = randomBytes(24).toString('base64url');
    this.#handles.set(handle, cpr);
    return handle;
  }

  async casesOf(handle: string): Promise<CitizenCases | undefined> {
    const record = this.#byCpr.get(this.#handles.get(handle) ?? '');
    if (!record) return undefined;
    const cases: CitizenCase[] = record.caseNumbers.map((caseNumber) => ({
      caseNumber,
      subject: { kind: 'self' },
    }));
    for (const child of record.custodyOf ?? []) {
      const c = this.#byCpr.get(child);
      for (const caseNumber of c?.caseNumbers ?? [])
        cases.push({ caseNumber, subject: { kind: 'child', firstName: c?.firstName ?? '' } });
    }
    return { municipality: this.#municipality, cases };
  }

  async organisationName(cvr: string): Promise<string | undefined> {
    return this.#organisations[cvr];
  }

  async deliver(handle: string, message: CitizenMessage): Promise<void> {
    const fromCpr = this.#handles.get(handle);
    if (!fromCpr) throw new Error('unknown citizen handle');
    this.inbox.push({ message, fromCpr, status: 'received' });
  }

  async messageStatus(id: string): Promise<MessageStatus | undefined> {
    return this.inbox.find((x) => x.message.id === id)?.status;
  }

  /** A caseworker answers a message in the case system. */
  handle(id: string): void {
    const item = this.inbox.find((x) => x.message.id === id);
    if (!item) throw new Error(`no message ${id} in the inbox`);
    item.status = 'handled';
  }

  /** Custody changes in the register (a court decision): the guardian's access follows at once. */
  setCustody(cpr: string, children: readonly string[]): void {
    const record = this.#byCpr.get(cpr);
    if (!record) throw new Error('no such citizen in the register');
    this.#byCpr.set(cpr, { ...record, custodyOf: children });
  }
}

/** The demo case number `npm start` prints: a caseworker opens it in the console, the guardian sees its services. */
export const DEMO_CHILD_CASE = '27.12.04-G01-1-26';

/** THROWAWAY demo register for `npm start`: Vera has custody of Bo, whose case is DEMO_CHILD_CASE. */
export const demoCaseSystem = (
  municipality: string,
  municipalityName: string,
  provider: string,
  providerName: string,
) =>
  new CaseSystemEmulator({
    municipality,
    records: [
      { cpr: '0101859998', firstName: 'Vera', caseNumbers: [], custodyOf: ['1203159995'] },
      { cpr: '1203159995', firstName: 'Bo', caseNumbers: [DEMO_CHILD_CASE] },
      { cpr: '0202759996', firstName: 'Anders', caseNumbers: [] },
    ],
    organisations: { [municipality]: municipalityName, [provider]: providerName },
  });
