/**
 * Consent and power of attorney: a citizen gives another person (an adviser, a relative) read
 * access to one of their cases — or a child's in their custody — until a date, and may revoke it.
 *
 * The giver gets a one-time code to hand over; the other person logs in with MitID and enters it,
 * which binds the grant to their login (a hash of the broker's pseudonymous subject: no CPR number,
 * no name). The gateway keeps only the code's hash. Each grant and each revocation is anchored on
 * chain as a salted commitment only (`anchor.record`, docType `citizen-grant` /
 * `citizen-grant-revocation`): the chain proves when access was given and taken back, and says
 * nothing about whom. A grant is refused once its period is over (GRANT_EXPIRED) or it was revoked
 * (GRANT_REVOKED); the routes also refuse it when its giver no longer has the case (GRANT_LAPSED):
 * a guardian's grant follows custody, as the guardian's own access does.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sameSecret } from '../console/session.ts';
import { CitizenRefusal } from './refusal.ts';

export const GRANT_MAX_DAYS = 366;

export interface GrantRecord {
  readonly id: string;
  readonly caseRef: string;
  readonly municipality: string;
  /** The case system's opaque handle of the citizen who gave it (to follow their access). */
  readonly grantor: string;
  /** SHA-256 of the one-time code. */
  readonly codeHash: string;
  readonly from: string;
  /** Last day of access (inclusive), YYYY-MM-DD. */
  readonly until: string;
  readonly salt: string;
  readonly commitment: string;
  readonly anchorTx: string;
  /** Set when redeemed: hash of the other person's login subject. */
  readonly grantee?: string;
  readonly revoked?: { readonly at: string; readonly commitment: string; readonly anchorTx: string };
}

export type GrantState = 'waiting' | 'active' | 'expired' | 'revoked';

const tagged = (tag: string, ...parts: string[]) => {
  const h = createHash('sha256').update(tag).update(Buffer.of(0));
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The commitment of a grant: what the chain holds of it (salted: unlinkable without the salt). */
export const grantCommitment = (salt: string, g: Pick<GrantRecord, 'id' | 'caseRef' | 'from' | 'until'>) =>
  tagged('tillid/grant/v1', salt, JSON.stringify([g.id, g.caseRef, g.from, g.until]));

/** A person as a grant's receiver: a hash of the citizen IdP's subject, never the subject itself. */
export const granteeOf = (issuer: string, sub: string) => tagged('tillid/grantee/v1', issuer, '\n', sub);

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** A one-time code: 16 characters from an unambiguous alphabet (80 bits), in groups of four. */
function newCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}
const normalCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

const DAY_MS = 86_400_000;
const dateOf = (d: Date) => d.toISOString().slice(0, 10);

export interface GrantsOptions {
  readonly file: string;
  readonly anchor: (municipality: string, hash: string, docType: string, ref: string) => Promise<string>;
  readonly now?: () => Date;
}

export class Grants {
  readonly #o: GrantsOptions;
  readonly #now: () => Date;
  readonly #byId = new Map<string, GrantRecord>();

  private constructor(o: GrantsOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
  }

  static open(o: GrantsOptions): Grants {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    const g = new Grants(o);
    if (existsSync(o.file))
      for (const line of readFileSync(o.file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          g.#apply(JSON.parse(line));
        } catch {
          // A line torn by a crash mid-append.
        }
      }
    return g;
  }

  #apply(x: {
    grant?: GrantRecord;
    redeemed?: { id: string; grantee: string };
    revoked?: { id: string } & NonNullable<GrantRecord['revoked']>;
  }): void {
    if (x.grant) this.#byId.set(x.grant.id, x.grant);
    const r = x.redeemed && this.#byId.get(x.redeemed.id);
    if (x.redeemed && r) this.#byId.set(r.id, { ...r, grantee: x.redeemed.grantee });
    const v = x.revoked && this.#byId.get(x.revoked.id);
    if (x.revoked && v) {
      const { id: _, ...revoked } = x.revoked;
      this.#byId.set(v.id, { ...v, revoked });
    }
  }

  async #write(line: object): Promise<void> {
    const handle = await open(this.#o.file, 'a', 0o600);
    try {
      await handle.write(`${JSON.stringify(line)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#apply(line);
  }

  today(): string {
    return dateOf(this.#now());
  }

  stateOf(g: GrantRecord): GrantState {
    if (g.revoked) return 'revoked';
    if (this.today() > g.until) return 'expired';
    return g.grantee ? 'active' : 'waiting';
  }

  /** The last days a giver may choose: from tomorrow to a year ahead. */
  untilRange(): { min: string; max: string } {
    const t = this.#now().getTime();
    return { min: dateOf(new Date(t + DAY_MS)), max: dateOf(new Date(t + GRANT_MAX_DAYS * DAY_MS)) };
  }

  /** Checks the last day a giver asked for: from tomorrow to a year ahead. */
  checkUntil(raw: unknown): string {
    const today = this.today();
    const last = this.untilRange().max;
    if (
      typeof raw !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}$/.test(raw) ||
      Number.isNaN(Date.parse(`${raw}T00:00:00Z`)) ||
      dateOf(new Date(`${raw}T00:00:00Z`)) !== raw ||
      raw <= today ||
      raw > last
    )
      throw new CitizenRefusal(
        'BAD_REQUEST',
        `Vælg den sidste dag for adgangen: en dato efter i dag og senest ${last}.`,
      );
    return raw;
  }

  /** A new grant for a case the giver has now; the code is returned once and kept only as a hash. */
  async give(o: {
    grantor: string;
    caseRef: string;
    municipality: string;
    until: string;
  }): Promise<{ grant: GrantRecord; code: string }> {
    const code = newCode();
    const id = randomUUID();
    const salt = randomBytes(32).toString('hex');
    const from = this.today();
    const commitment = grantCommitment(salt, { id, caseRef: o.caseRef, from, until: o.until });
    const anchorTx = await this.#o.anchor(o.municipality, commitment, 'citizen-grant', `tillid:grant:${id}`);
    const grant: GrantRecord = {
      id,
      caseRef: o.caseRef,
      municipality: o.municipality,
      grantor: o.grantor,
      codeHash: sha256(normalCode(code)),
      from,
      until: o.until,
      salt,
      commitment,
      anchorTx,
    };
    await this.#write({ grant });
    return { grant, code };
  }

  /** The other person enters the code: the grant becomes theirs (once). */
  async redeem(code: unknown, grantee: string): Promise<GrantRecord> {
    const hash = typeof code === 'string' ? sha256(normalCode(code)) : '';
    const g = [...this.#byId.values()].find((x) => sameSecret(x.codeHash, hash));
    if (!g || (g.grantee && g.grantee !== grantee))
      throw new CitizenRefusal(
        'GRANT_NOT_FOUND',
        'Koden passer ikke til en fuldmagt. Tjek koden og prøv igen.',
      );
    this.#usable(g);
    if (!g.grantee) await this.#write({ redeemed: { id: g.id, grantee } });
    return this.#byId.get(g.id) as GrantRecord;
  }

  /** A grant the person holds and may use now; refused with the reason in Danish otherwise. */
  use(id: string, grantee: string): GrantRecord {
    const g = this.#byId.get(id);
    if (!g || g.grantee !== grantee)
      throw new CitizenRefusal('GRANT_NOT_FOUND', 'Du har ingen fuldmagt til denne sag.');
    this.#usable(g);
    return g;
  }

  #usable(g: GrantRecord): void {
    if (g.revoked)
      throw new CitizenRefusal(
        'GRANT_REVOKED',
        `Fuldmagten er tilbagekaldt den ${g.revoked.at.slice(0, 10)}. Du kan ikke længere se sagen.`,
      );
    if (this.today() > g.until)
      throw new CitizenRefusal(
        'GRANT_EXPIRED',
        `Fuldmagten udløb den ${g.until}. Du kan ikke længere se sagen.`,
      );
  }

  /** Revokes a grant on a case the revoking citizen has now (the routes check that). */
  async revoke(id: string, caseRef: string): Promise<GrantRecord> {
    const g = this.#byId.get(id);
    if (!g || g.caseRef !== caseRef)
      throw new CitizenRefusal('GRANT_NOT_FOUND', 'Der er ingen sådan fuldmagt på sagen.');
    if (g.revoked) return g;
    const at = this.#now().toISOString();
    const commitment = tagged('tillid/grant-revocation/v1', g.salt, g.id, at);
    const anchorTx = await this.#o.anchor(
      g.municipality,
      commitment,
      'citizen-grant-revocation',
      `tillid:grant-revocation:${g.id}`,
    );
    await this.#write({ revoked: { id: g.id, at, commitment, anchorTx } });
    return this.#byId.get(g.id) as GrantRecord;
  }

  /** The grants given on a case, newest first. */
  ofCase(caseRef: string): GrantRecord[] {
    return [...this.#byId.values()].filter((g) => g.caseRef === caseRef).reverse();
  }

  /** The grants a person holds, newest first. */
  ofGrantee(grantee: string): GrantRecord[] {
    return [...this.#byId.values()].filter((g) => g.grantee === grantee).reverse();
  }
}
