/**
 * Party records and the acting rule: which key may act for which party in which role. Read by the
 * party module (which writes the records) and by every `contract.*` action (whose payload names
 * `as: { party, role, actor }`).
 */
import type { JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Hex } from '../../protocol/hash.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import type { StateReader } from '../module.ts';
import { type Party, ROLES_OF_PARTY, type Role } from './roles.ts';

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

export const CVR = /^\d{8}$/;
/** A pseudonymous actor id: 32 bytes of hex, e.g. an HMAC of the person's identity kept off chain. */
export const ACTOR = /^[0-9a-f]{64}$/;
export const MAX_KEYS = 16;

export const invalid = (message: string, path?: string) =>
  new TillidError('TX_PAYLOAD_INVALID', message, path ? { path } : undefined);

export const readParty = (state: StateReader, cvr: string): PartyRecord | undefined =>
  state.get(partyKey(cvr)) as unknown as PartyRecord | undefined;

export function checkFields(payload: JsonObject, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(payload))
    if (!allowed.includes(k)) throw invalid(`${where}: unknown field ${k}`);
}

export function checkCvr(value: unknown, path: string): void {
  if (typeof value !== 'string' || !CVR.test(value))
    throw invalid(`${path} must be a CVR number (8 digits)`, path);
}

export function checkKey(value: unknown, kind: Party | undefined, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${path} must be an object`, path);
  const key = value as Record<string, unknown>;
  for (const k of Object.keys(key))
    if (!['publicKey', 'roles', 'admin'].includes(k)) throw invalid(`${path}: unknown field ${k}`, path);
  if (!isValidPublicKey(key.publicKey))
    throw invalid(`${path}.publicKey must be an Ed25519 public key (64 hex)`, path);
  if (key.admin !== undefined && typeof key.admin !== 'boolean')
    throw invalid(`${path}.admin must be a boolean`, path);
  if (!Array.isArray(key.roles) || key.roles.length > 4)
    throw invalid(`${path}.roles must be a list of roles`, path);
  const allowed: readonly string[] = kind ? ROLES_OF_PARTY[kind] : Object.values(ROLES_OF_PARTY).flat();
  const seen = new Set<unknown>();
  for (const role of key.roles) {
    if (typeof role !== 'string' || !allowed.includes(role))
      throw invalid(`${path}.roles: ${String(role)} is not a role of ${kind ?? 'any party'}`, path);
    if (seen.has(role)) throw invalid(`${path}.roles: ${role} twice`, path);
    seen.add(role);
  }
  if (key.roles.length === 0 && key.admin !== true)
    throw invalid(`${path}: a key needs a role or admin`, path);
}

/** Stateless check of an `as` claim: { party: CVR, role, actor }. */
export function checkActing(value: unknown, path = 'as'): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${path} must be { party, role, actor }`, path);
  const as = value as Record<string, unknown>;
  for (const k of Object.keys(as))
    if (!['party', 'role', 'actor'].includes(k)) throw invalid(`${path}: unknown field ${k}`, path);
  checkCvr(as.party, `${path}.party`);
  if (
    typeof as.role !== 'string' ||
    !Object.values(ROLES_OF_PARTY)
      .flat()
      .includes(as.role as Role)
  )
    throw invalid(`${path}.role must be one of ${Object.values(ROLES_OF_PARTY).flat().join(', ')}`, path);
  if (typeof as.actor !== 'string' || !ACTOR.test(as.actor))
    throw invalid(`${path}.actor must be a pseudonymous actor id (64 hex), never a name`, path);
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
