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
import type { Transaction } from '../../protocol/transaction.ts';
import { MAX_KEYS, partySchemas } from '../../schemas/party.ts';
import { type Party, ROLES_OF_PARTY, type Role } from '../../schemas/roles.ts';
import { type Collapse, payloadValidator } from '../../schemas/validate.ts';
import { emit } from '../events.ts';
import type { Action, Module, StateReader, StateWriter, TxContext } from '../module.ts';
import { authoritiesAt } from '../modules/governance.ts';
import {
  checkKey,
  invalid,
  keyOwnerKey,
  type PartyKey,
  type PartyRecord,
  partyKey,
  readParty,
} from './acting.ts';

/** A problem inside a key is reported at the key, as `keys[0]` or `key`. */
const atKey: Collapse = (segments) =>
  segments[0] === 'keys' && segments.length > 2
    ? segments.slice(0, 2)
    : segments[0] === 'key' && segments.length > 1
      ? ['key']
      : segments;
const validRegister = payloadValidator(partySchemas.register, 'party.register', atKey);
const validAddKey = payloadValidator(partySchemas.addKey, 'party.addKey', atKey);
const validRevokeKey = payloadValidator(partySchemas.revokeKey, 'party.revokeKey', atKey);

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

  function addKeyTo(state: StateWriter, party: PartyRecord, input: JsonObject, height: number): PartyRecord {
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

  /** The party named by the payload, if the signer may manage its keys. */
  function managed(state: StateReader, tx: Transaction, ctx: TxContext): PartyRecord {
    const cvr = tx.payload.cvr as string;
    const party = readParty(state, cvr);
    if (!party) throw new TillidError('PARTY_NOT_FOUND', `no party with CVR ${cvr} is registered`);
    if (!mayManage(state, tx.signer, party, ctx))
      throw new TillidError('ROLE_NOT_ALLOWED', `the signing key may not manage the keys of CVR ${cvr}`);
    return party;
  }

  const register: Action = {
    check(payload) {
      validRegister(payload);
      const seen = new Set<unknown>();
      (payload.keys as JsonObject[]).forEach((k, i) => {
        checkKey(k, payload.kind as Party, `keys[${i}]`);
        const pk = (k as JsonObject).publicKey;
        if (seen.has(pk)) throw invalid(`keys[${i}]: the same key twice`, `keys[${i}]`);
        seen.add(pk);
      });
    },
    apply(state, tx, ctx) {
      const cvr = tx.payload.cvr as string;
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
      // `check` has checked each key's roles against `kind`.
      for (const key of tx.payload.keys as JsonObject[]) party = addKeyTo(state, party, key, ctx.height);
      state.set(partyKey(cvr), party as unknown as Json);
      emit(state, ctx, 'party.registered', { cvr, kind, registrar });
    },
  };

  const addKey: Action = {
    check(payload) {
      validAddKey(payload);
      checkKey(payload.key, undefined, 'key');
    },
    apply(state, tx, ctx) {
      const party = managed(state, tx, ctx);
      const input = tx.payload.key as JsonObject;
      if (!(input.roles as string[]).every((r) => ROLES_OF_PARTY[party.kind].includes(r as Role)))
        throw invalid(`key.roles: not every role is a role of a ${party.kind}`, 'key.roles');
      state.set(partyKey(party.cvr), addKeyTo(state, party, input, ctx.height) as unknown as Json);
      emit(state, ctx, 'party.key-added', { cvr: party.cvr, publicKey: input.publicKey as string });
    },
  };

  const revokeKey: Action = {
    check(payload) {
      validRevokeKey(payload);
      if (!isValidPublicKey(payload.publicKey))
        throw invalid('publicKey must be an Ed25519 public key', 'publicKey');
    },
    apply(state, tx, ctx) {
      const party = managed(state, tx, ctx);
      const cvr = party.cvr;
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

  return { name: 'party', actions: { register, addKey, revokeKey }, queries: partyQueries };
}

/** Read queries: a party (CVR, kind, registrar, keys with roles; no names). */
export const partyQueries = { party: readParty };
