/**
 * Contribute and correct: a citizen's comment on a service, or a request to correct it. The text
 * is stored off chain like a document (the gateway's document store: encrypted, salted commitment),
 * the commitment is anchored on chain by the municipality (`anchor.record`, docType
 * `citizen-comment` / `citizen-correction`) as the citizen's receipt, and the message is delivered
 * to the municipality's case system (its inbox) as an event. The citizen sees its status as the
 * case system reports it: received, then handled.
 *
 * What the gateway keeps beside the encrypted text, in `messages.jsonl`: ids, the case reference
 * (the pseudonym), the contract, the kind, the commitment and its transaction, the time, whether the
 * case system accepted it. Never the text in clear, a CPR number or a name.
 *
 * Hostile text is refused before anything is stored, anchored or delivered (`checkText`); markup
 * is not refused but is text: every page escapes it (`../console/html.ts`).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { documentCommitment, newSalt } from '../documents/commitment.ts';
import type { DocumentStore } from '../documents/store.ts';
import type { CaseSystem, CitizenMessage, MessageStatus } from './case-system.ts';
import { CitizenRefusal } from './refusal.ts';

export const MESSAGE_KINDS = ['comment', 'correction'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
export const MAX_MESSAGE_CHARS = 2000;

/** What the gateway keeps of a message: no text, no person. */
export interface MessageRecord {
  readonly id: string;
  readonly caseRef: string;
  readonly municipality: string;
  readonly contract: string;
  readonly kind: MessageKind;
  /** The document in the gateway's store holding the text (encrypted). */
  readonly document: string;
  readonly commitment: string;
  readonly anchorTx: string;
  readonly sentAt: string;
  /** Whether the case system accepted it into its inbox. */
  readonly delivered: boolean;
}

export type ShownStatus = MessageStatus | 'undelivered';

/**
 * Control characters (line breaks and tabs aside), invisible formatting (bidirectional overrides,
 * zero-width characters: text that reads differently from what it says) and private-use characters.
 */
const HOSTILE = /[\p{Cc}\p{Cf}\p{Co}]/u;
/** Ten digits, with or without the dash after six, that could be a CPR number. */
const CPR_LIKE = /(?<!\d)\d{6}[- ]?\d{4}(?!\d)/;

/** The text as it will be stored, or a refusal saying in Danish what is wrong. */
export function checkText(raw: unknown): string {
  if (typeof raw !== 'string') throw new CitizenRefusal('MESSAGE_REFUSED', 'Skriv en besked.');
  const text = raw.replace(/\r\n/g, '\n').normalize('NFC').trim();
  if (text === '') throw new CitizenRefusal('MESSAGE_REFUSED', 'Skriv en besked.');
  if ([...text].length > MAX_MESSAGE_CHARS)
    throw new CitizenRefusal('MESSAGE_REFUSED', `Beskeden må højst være ${MAX_MESSAGE_CHARS} tegn.`);
  if (HOSTILE.test(text.replace(/[\n\t]/g, '')))
    throw new CitizenRefusal(
      'MESSAGE_REFUSED',
      'Beskeden indeholder usynlige tegn eller styretegn. Skriv den igen som almindelig tekst.',
    );
  if (CPR_LIKE.test(text))
    throw new CitizenRefusal(
      'MESSAGE_REFUSED',
      'Skriv ikke CPR-numre i beskeden. Kommunen ved allerede, hvem du er, og hvilken sag det drejer sig om.',
    );
  return text;
}

export interface MessagesOptions {
  /** The JSON-lines file of message records. */
  readonly file: string;
  /** The gateway's document store: the text lives there, encrypted, like any document. */
  readonly store: DocumentStore;
  /** Anchors a commitment on chain for the municipality; resolves with the final transaction. */
  readonly anchor: (municipality: string, hash: string, docType: string, ref: string) => Promise<string>;
  readonly caseSystem: CaseSystem;
  readonly now?: () => Date;
}

export class CitizenMessages {
  readonly #o: MessagesOptions;
  readonly #now: () => Date;
  readonly #records: MessageRecord[] = [];

  private constructor(o: MessagesOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
  }

  static open(o: MessagesOptions): CitizenMessages {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    const m = new CitizenMessages(o);
    if (existsSync(o.file))
      for (const line of readFileSync(o.file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          m.#records.push(JSON.parse(line) as MessageRecord);
        } catch {
          // A line torn by a crash mid-append.
        }
      }
    return m;
  }

  /**
   * Stores, anchors and delivers a message the routes have checked (the case is the citizen's, the
   * contract is an agreed service under it, the text passed `checkText`).
   */
  async send(m: {
    handle: string;
    municipality: string;
    caseRef: string;
    caseNumber: string;
    contract: string;
    kind: MessageKind;
    text: string;
  }): Promise<MessageRecord> {
    const sentAt = this.#now().toISOString();
    const bytes = Buffer.from(m.text, 'utf8');
    const salt = newSalt();
    const id = randomUUID();
    const commitment = documentCommitment(salt, bytes);
    const docType = `citizen-${m.kind}`;
    // Owned by the municipality and tied to no contract: the provider does not read the citizen's message.
    try {
      await this.#o.store.put({
        meta: {
          id,
          commitment,
          owner: m.municipality,
          docType,
          mediaType: 'text/plain',
          size: bytes.length,
          createdAt: sentAt,
        },
        salt,
        bytes,
      });
    } finally {
      salt.fill(0);
    }
    let anchorTx: string;
    try {
      anchorTx = await this.#o.anchor(m.municipality, commitment, docType, `tillid:document:${id}`);
    } catch (e) {
      // Nothing on chain refers to it: the stored text goes again.
      await this.#o.store.erase(id, { at: this.#now().toISOString(), by: 'gateway:anchor-failed' });
      throw e;
    }
    let delivered = true;
    try {
      await this.#o.caseSystem.deliver(m.handle, {
        id,
        kind: m.kind,
        caseNumber: m.caseNumber,
        contract: m.contract,
        text: m.text,
        commitment,
        anchorTx,
        sentAt,
      } satisfies CitizenMessage);
    } catch {
      // Stored and anchored, but the case system did not take it: the citizen is told so.
      delivered = false;
    }
    const record: MessageRecord = {
      id,
      caseRef: m.caseRef,
      municipality: m.municipality,
      contract: m.contract,
      kind: m.kind,
      document: id,
      commitment,
      anchorTx,
      sentAt,
      delivered,
    };
    await this.#append(record);
    this.#records.push(record);
    return record;
  }

  /** The messages about a case, newest first, each with its status from the case system. */
  async of(caseRef: string): Promise<{ record: MessageRecord; status: ShownStatus }[]> {
    const mine = this.#records.filter((r) => r.caseRef === caseRef).reverse();
    return Promise.all(
      mine.map(async (record) => ({
        record,
        status: record.delivered
          ? ((await this.#o.caseSystem.messageStatus(record.id)) ?? 'received')
          : 'undelivered',
      })),
    );
  }

  async #append(record: MessageRecord): Promise<void> {
    const handle = await open(this.#o.file, 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
