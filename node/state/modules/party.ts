/**
 * `party`: the organisations that act on contracts — municipalities and providers (a care home, a
 * consultant firm, a taxi company) — identified by CVR, with the signing keys registered for them.
 * No names: a provider may be a sole trader, whose name is personal data.
 *
 *   party.register  { cvr, kind, keys: [Key] }   municipality: signed by a current authority
 *                                                provider: signed by an admin key of a municipality
 *   party.addKey    { cvr, key: Key }            an admin key of the party or of its registrar
 *   party.revokeKey { cvr, publicKey }           the same
 *
 * A key says which roles it may act in (`ROLES_OF_PARTY`) and whether it may manage keys. The
 * registrar can always add and revoke, so a party that lost every admin key is recoverable. A key
 * belongs to one party for good: a revoked key is never re-registered, so old signatures keep
 * their meaning.
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { isValidPublicKey } from '../../protocol/signature.ts';
import { type Party, ROLES_OF_PARTY, type Role } from '../contracts/policy.ts';
import { emit } from '../events.ts';
import type { Module, StateReader, TxContext } from '../module.ts';
import { authoritiesAt } from './governance.ts';

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
const keyOwnerKey = (publicKey: Hex): string => `party/key/${publicKey}`;

export const CVR = /^\d{8}$/;
/** A pseudonymous actor id: 32 bytes of hex, e.g. an HMAC of the person's identity kept off chain. */
export const ACTOR = /^[0-9a-f]{64}$/;
const MAX_KEYS = 16;

const invalid = (message: string, path?: string) =>
  new TillidError('TX_PAYLOAD_INVALID', message, path ? { path } : undefined);

export const readParty = (state: StateReader, cvr: string): PartyRecord | undefined =>
  state.get(partyKey(cvr)) as unknown as PartyRecord | undefined;

function checkFields(payload: JsonObject, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(payload))
    if (!allowed.includes(k)) throw invalid(`${where}: unknown field ${k}`);
}

function checkCvr(value: unknown, path: string): void {
  if (typeof value !== 'string' || !CVR.test(value))
    throw invalid(`${path} must be a CVR number (8 digits)`, path);
}

function checkKey(value: unknown, kind: Party | undefined, path: string): void {
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

export function partyModule(genesis: Genesis): Module {
  const isAuthority = (state: StateReader, signer: Hex, height: number) =>
    authoritiesAt(state, genesis, height).some((a) => a.publicKey === signer);

  /** May `signer` manage the keys of `party`? An admin key of its own, or of its registrar. */
  function mayManage(state: StateReader, signer: Hex, party: PartyRecord, ctx: TxContext): boolean {
    const own = party.keys[signer];
    if (own?.status === 'active' && own.admin) return true;
    if (party.registrar === 'consortium') return isAuthority(state, signer, ctx.height);
    const registrar = readParty(state, party.registrar);
    const theirs = registrar?.keys[signer];
    return theirs?.status === 'active' && theirs.admin === true;
  }

  function addKeyTo(
    state: Parameters<Module['apply']>[0],
    party: PartyRecord,
    input: JsonObject,
    height: number,
  ): PartyRecord {
    const publicKey = input.publicKey as Hex;
    if (state.get(keyOwnerKey(publicKey)) !== undefined)
      throw new TillidError(
        'PARTY_KEY_IN_USE',
        'this key is (or was) registered already; generate a new one',
      );
    if (Object.keys(party.keys).length >= MAX_KEYS)
      throw new TillidError('TX_PAYLOAD_INVALID', `a party has at most ${MAX_KEYS} keys; revoke unused ones`);
    state.set(keyOwnerKey(publicKey), party.cvr);
    const key: PartyKey = {
      roles: input.roles as Role[],
      admin: input.admin === true,
      status: 'active',
      addedAt: height,
    };
    return { ...party, keys: { ...party.keys, [publicKey]: key } };
  }

  return {
    name: 'party',
    actions: ['register', 'addKey', 'revokeKey'],
    checkPayload(action, payload) {
      const where = `party.${action}`;
      if (action === 'register') {
        checkFields(payload, ['cvr', 'kind', 'keys'], where);
        checkCvr(payload.cvr, 'cvr');
        if (payload.kind !== 'municipality' && payload.kind !== 'provider')
          throw invalid("kind is 'municipality' or 'provider'", 'kind');
        if (!Array.isArray(payload.keys) || payload.keys.length < 1 || payload.keys.length > MAX_KEYS)
          throw invalid(`keys must list 1-${MAX_KEYS} keys`, 'keys');
        const seen = new Set<unknown>();
        payload.keys.forEach((k, i) => {
          checkKey(k, payload.kind as Party, `keys[${i}]`);
          const pk = (k as JsonObject).publicKey;
          if (seen.has(pk)) throw invalid(`keys[${i}]: the same key twice`, `keys[${i}]`);
          seen.add(pk);
        });
      } else if (action === 'addKey') {
        checkFields(payload, ['cvr', 'key'], where);
        checkCvr(payload.cvr, 'cvr');
        checkKey(payload.key, undefined, 'key');
      } else {
        checkFields(payload, ['cvr', 'publicKey'], where);
        checkCvr(payload.cvr, 'cvr');
        if (!isValidPublicKey(payload.publicKey))
          throw invalid('publicKey must be an Ed25519 public key', 'publicKey');
      }
    },
    apply(state, tx, action, ctx) {
      const cvr = tx.payload.cvr as string;
      if (action === 'register') {
        if (readParty(state, cvr)) throw new TillidError('PARTY_EXISTS', `CVR ${cvr} is registered already`);
        const kind = tx.payload.kind as Party;
        let registrar = 'consortium';
        if (kind === 'municipality') {
          if (!isAuthority(state, tx.signer, ctx.height))
            throw new TillidError(
              'PARTY_KEY_UNKNOWN',
              'a municipality is registered by a consortium authority',
            );
        } else {
          const owner = state.get(keyOwnerKey(tx.signer)) as string | undefined;
          const registering = owner ? readParty(state, owner) : undefined;
          const key = registering?.keys[tx.signer];
          if (!registering || !key)
            throw new TillidError('PARTY_KEY_UNKNOWN', 'the signing key is not registered');
          if (key.status !== 'active')
            throw new TillidError('PARTY_KEY_REVOKED', 'the signing key was revoked');
          if (registering.kind !== 'municipality' || !key.admin)
            throw new TillidError(
              'ROLE_NOT_ALLOWED',
              'a provider is registered by an admin key of a municipality',
            );
          registrar = registering.cvr;
        }
        let party: PartyRecord = { cvr, kind, registrar, registeredAt: ctx.height, keys: {} };
        // checkPayload has checked each key's roles against `kind`.
        for (const key of tx.payload.keys as JsonObject[]) party = addKeyTo(state, party, key, ctx.height);
        state.set(partyKey(cvr), party as unknown as Json);
        emit(state, ctx, 'party.registered', { cvr, kind, registrar });
        return;
      }
      const party = readParty(state, cvr);
      if (!party) throw new TillidError('PARTY_NOT_FOUND', `no party with CVR ${cvr} is registered`);
      if (!mayManage(state, tx.signer, party, ctx))
        throw new TillidError('ROLE_NOT_ALLOWED', `the signing key may not manage the keys of CVR ${cvr}`);
      if (action === 'addKey') {
        const input = tx.payload.key as JsonObject;
        if (!(input.roles as string[]).every((r) => ROLES_OF_PARTY[party.kind].includes(r as Role)))
          throw invalid(`key.roles: not every role is a role of a ${party.kind}`, 'key.roles');
        state.set(partyKey(cvr), addKeyTo(state, party, input, ctx.height) as unknown as Json);
        emit(state, ctx, 'party.key-added', { cvr, publicKey: input.publicKey as string });
        return;
      }
      const publicKey = tx.payload.publicKey as Hex;
      const key = party.keys[publicKey];
      if (!key) throw new TillidError('PARTY_KEY_UNKNOWN', `the key is not registered for CVR ${cvr}`);
      if (key.status === 'revoked') throw new TillidError('PARTY_KEY_REVOKED', 'the key is revoked already');
      const revoked: PartyKey = { ...key, status: 'revoked', revokedAt: ctx.height };
      state.set(partyKey(cvr), {
        ...party,
        keys: { ...party.keys, [publicKey]: revoked },
      } as unknown as Json);
      emit(state, ctx, 'party.key-revoked', { cvr, publicKey });
    },
  };
}
