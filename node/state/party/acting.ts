/**
 * Party records and the acting rule: which key may act for which party in which role. Read by the
 * party module (which writes the records) and by every `contract.*` action (whose payload names
 * `as: { party, role, actor }`).
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import { type Party, ROLES_OF_PARTY, type Role } from '../../schemas/roles.ts';
import type { StateReader } from '../module.ts';

export interface PartyKey {
  readonly roles: readonly Role[];
  readonly admin: boolean;
  readonly status: 'active' | 'revoked';
  readonly addedAt: number;
  readonly revokedAt?: number;
}

export interface PartyRecord {
  readonly cvr: string;
  readonly kind: Party;
  /** The CVR of the municipality that registered a provider; `consortium` for a municipality. */
  readonly registrar: string;
  readonly registeredAt: number;
  readonly keys: Readonly<Record<Hex, PartyKey>>;
}

/** An actor acting for a party in a role, as the chain has checked it. */
export interface Acting {
  readonly cvr: string;
  readonly party: Party;
  readonly role: Role;
  readonly actor: string;
}

export const partyKey = (cvr: string): string => `party/${cvr}`;
export const keyOwnerKey = (publicKey: Hex): string => `party/key/${publicKey}`;

export const invalid = (message: string, path?: string) =>
  new TillidError('TX_PAYLOAD_INVALID', message, path ? { path } : undefined);

export const readParty = (state: StateReader, cvr: string): PartyRecord | undefined =>
  state.get(partyKey(cvr)) as unknown as PartyRecord | undefined;

/** A key's rules beyond its schema: roles of the party's kind, once each; a role or admin; on the curve. */
export function checkKey(value: unknown, kind: Party | undefined, path: string): void {
  const key = value as { publicKey: string; roles: string[]; admin?: boolean };
  if (!isValidPublicKey(key.publicKey))
    throw invalid(`${path}.publicKey must be an Ed25519 public key (64 hex)`, path);
  const allowed: readonly string[] = kind ? ROLES_OF_PARTY[kind] : Object.values(ROLES_OF_PARTY).flat();
  const seen = new Set<unknown>();
  for (const role of key.roles) {
    if (!allowed.includes(role))
      throw invalid(`${path}.roles: ${role} is not a role of ${kind ?? 'any party'}`, path);
    if (seen.has(role)) throw invalid(`${path}.roles: ${role} twice`, path);
    seen.add(role);
  }
  if (key.roles.length === 0 && key.admin !== true)
    throw invalid(`${path}: a key needs a role or admin`, path);
}

/** The active key record of `signer` in party `cvr`, or the reason it may not sign for it. */
function activeKey(state: StateReader, signer: Hex, cvr: string): { party: PartyRecord; key: PartyKey } {
  const party = readParty(state, cvr);
  if (!party) throw new TillidError('PARTY_NOT_FOUND', `no party with CVR ${cvr} is registered`);
  const key = party.keys[signer];
  if (!key) throw new TillidError('PARTY_KEY_UNKNOWN', `the signing key is not registered for CVR ${cvr}`);
  if (key.status !== 'active')
    throw new TillidError('PARTY_KEY_REVOKED', `the signing key of CVR ${cvr} was revoked`);
  return { party, key };
}

/**
 * Resolves the payload's `as` claim against the signer: the key must be an active key of that
 * party, allowed the claimed role. This is where "who signs" becomes "who acts, in which role".
 */
export function resolveActing(state: StateReader, signer: Hex, as: JsonObject): Acting {
  const cvr = as.party as string;
  const role = as.role as Role;
  const { party, key } = activeKey(state, signer, cvr);
  if (!key.roles.includes(role))
    throw new TillidError('ROLE_NOT_ALLOWED', `the signing key of CVR ${cvr} may not act as ${role}`);
  return { cvr, party: party.kind, role, actor: as.actor as string };
}
