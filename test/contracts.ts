/**
 * Fixtures for the contracts application: throwaway keys for a municipality and its providers,
 * transaction builders for every `party.*` and `contract.*` action, and an in-memory chain that
 * executes blocks with the real state machine on an accelerated business clock. Shared by the
 * scenario, property and network tests and by `npm run bench:contracts`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { JsonObject } from '../node/protocol/canonical.ts';
import { DEFAULT_PARAMS, type Genesis } from '../node/protocol/genesis.ts';
import type { Hex } from '../node/protocol/hash.ts';
import { generateKeyPair, type KeyPair, Signer, signingMessage } from '../node/protocol/signature.ts';
import { signTransactionWith, type Transaction, transactionHash } from '../node/protocol/transaction.ts';
import { applicationModules } from '../node/state/application.ts';
import { DAY_MS, parseDate } from '../node/state/contracts/calendar.ts';
import { cosignDigest } from '../node/state/contracts/motions.ts';
import {
  type ApprovalPolicy,
  bothParties,
  oneDirectorOrTwoCentreChiefs,
} from '../node/state/contracts/policy.ts';
import { type ContractRecord, contractKey, type Motion, motionKey } from '../node/state/contracts/records.ts';
import type { ChainEvent } from '../node/state/events.ts';
import { eventsAt } from '../node/state/events.ts';
import { executeBlock, type Receipt, type Rules, receiptKey } from '../node/state/machine.ts';
import { MemoryState } from '../node/state/overlay.ts';

export const ORIGIN = '2026-01-01';
export const MUNICIPALITY_CVR = '29189846';
export const CARE_HOME_CVR = '11111111';
export const CONSULTANT_CVR = '22222222';
export const TAXI_CVR = '33333333';

/** A pseudonymous actor id, as a gateway would derive it (here from a throwaway label). */
export const actorId = (label: string): string =>
  createHash('sha256').update(`test-actor:${label}`).digest('hex');

export interface Actor {
  readonly key: KeyPair;
  readonly cvr: string;
  readonly role: string;
  readonly actor: string;
}

/** Everyone in the case story. Keys are generated per run (throwaway). */
export function castOfCase() {
  const authority = generateKeyPair();
  const municipalAdmin = generateKeyPair();
  const submitter = generateKeyPair(); // the municipality's gateway key: acts for any municipal role
  const provider = (cvr: string) => ({ cvr, key: generateKeyPair() });
  const careHome = provider(CARE_HOME_CVR);
  const consultant = provider(CONSULTANT_CVR);
  const taxi = provider(TAXI_CVR);
  const m = (role: string, label: string): Actor => ({
    key: submitter,
    cvr: MUNICIPALITY_CVR,
    role,
    actor: actorId(label),
  });
  const p = (who: { cvr: string; key: KeyPair }, label: string): Actor => ({
    key: who.key,
    cvr: who.cvr,
    role: 'provider-representative',
    actor: actorId(label),
  });
  return {
    authority,
    municipalAdmin,
    submitter,
    careHome,
    consultant,
    taxi,
    caseworker: m('caseworker', 'caseworker-1'),
    centreChief: m('centre-chief', 'centre-chief-1'),
    centreChief2: m('centre-chief', 'centre-chief-2'),
    director: m('director', 'director-1'),
    careHomeRep: p(careHome, 'care-home-rep'),
    consultantRep: p(consultant, 'consultant-rep'),
    taxiRep: p(taxi, 'taxi-rep'),
  };
}
export type Cast = ReturnType<typeof castOfCase>;

export function contractsGenesis(
  authorities: KeyPair[],
  msPerBlock = DAY_MS,
  chainId = 'tillid-test',
): Genesis {
  return {
    chainId,
    genesisTime: Date.now() - 1000,
    authorities: authorities.map((k, i) => ({
      name: `Kommune ${i + 1}`,
      cvr: String(29189846 + i),
      publicKey: k.publicKey,
    })),
    params: {
      ...DEFAULT_PARAMS,
      clock: { kind: 'accelerated', origin: (parseDate(ORIGIN) as number) * DAY_MS, msPerBlock },
    },
  };
}

/** Builds signed transactions for one chain. */
export function txBuilder(chainId: string, now: () => number = Date.now) {
  // node:crypto signers, cached per key: signing thousands of transactions for a benchmark is quick.
  const signers = new Map<string, Signer>();
  const signerOf = (key: KeyPair) => {
    const known = signers.get(key.publicKey);
    if (known) return known;
    const signer = new Signer(key);
    signers.set(key.publicKey, signer);
    return signer;
  };
  const sign = (
    key: KeyPair,
    type: string,
    payload: JsonObject,
    nonce = randomUUID(),
    expiresAt = now() + 30 * 60_000,
  ): Transaction =>
    signTransactionWith({ chainId, type, payload, signer: key.publicKey, nonce, expiresAt }, signerOf(key));
  const as = (a: Actor) => ({ party: a.cvr, role: a.role, actor: a.actor });
  return {
    sign,
    registerMunicipality: (authority: KeyPair, cvr: string, keys: JsonObject[]) =>
      sign(authority, 'party.register', { cvr, kind: 'municipality', keys }),
    registerProvider: (admin: KeyPair, cvr: string, key: KeyPair) =>
      sign(admin, 'party.register', {
        cvr,
        kind: 'provider',
        keys: [{ publicKey: key.publicKey, roles: ['provider-representative'], admin: true }],
      }),
    defineTemplate: (
      director: Actor,
      code: string,
      options: {
        releaseWithheldOnReport?: boolean;
        approvalLifetimeDays?: number;
        policies?: Partial<Record<string, ApprovalPolicy>>;
      } = {},
    ) =>
      sign(director.key, 'contract.defineTemplate', {
        as: as(director),
        code,
        policies: {
          activate: bothParties('caseworker'),
          amend: oneDirectorOrTwoCentreChiefs(),
          suspend: oneDirectorOrTwoCentreChiefs(),
          resume: oneDirectorOrTwoCentreChiefs(),
          terminate: bothParties('caseworker'),
          ...options.policies,
        } as unknown as JsonObject,
        releaseWithheldOnReport: options.releaseWithheldOnReport ?? true,
        approvalLifetimeDays: options.approvalLifetimeDays ?? 30,
      }),
    create: (caseworker: Actor, fields: JsonObject) =>
      sign(caseworker.key, 'contract.create', { as: as(caseworker), ...fields }),
    propose: (a: Actor, contract: Hex, action: string, extra: JsonObject = {}) =>
      sign(a.key, 'contract.propose', { as: as(a), contract, action, ...extra }),
    /**
     * The pilot's offline multisignature: the co-signers sign the motion first, then `a` proposes
     * it with their co-signatures, so one transaction carries every party's approval.
     */
    proposeCosigned: (
      a: Actor,
      contract: Hex,
      action: string,
      cosigners: Actor[],
      extra: JsonObject = {},
    ) => {
      const payload: JsonObject = { as: as(a), contract, action, ...extra };
      const nonce = randomUUID();
      const expiresAt = now() + 30 * 60_000;
      const digest = cosignDigest(chainId, payload, nonce, expiresAt);
      const cosignatures = cosigners.map((c) => ({
        as: as(c),
        publicKey: c.key.publicKey,
        signature: signerOf(c.key).sign(signingMessage('cosign', digest)),
      }));
      return sign(a.key, 'contract.propose', { ...payload, cosignatures }, nonce, expiresAt);
    },
    approve: (a: Actor, motion: Hex) => sign(a.key, 'contract.approve', { as: as(a), motion }),
    report: (a: Actor, contract: Hex, period: number, document: Hex) =>
      sign(a.key, 'contract.report', { as: as(a), contract, period, document }),
  };
}

/** A salted document commitment, as the gateway computes it; here from a throwaway label. */
export const commitment = (label: string): Hex =>
  createHash('sha256').update(`test-document:${label}`).digest('hex');

/**
 * A chain in memory running the real state machine: one block per `block()` call, each advancing
 * the business clock by the genesis' msPerBlock.
 */
export function memoryChain(genesis: Genesis) {
  const rules: Rules = {
    chainId: genesis.chainId,
    params: genesis.params,
    modules: applicationModules(genesis),
  };
  const state = new MemoryState();
  let height = 0;
  let root = '00'.repeat(32);
  const events: ChainEvent[] = [];
  const block = (...txs: Transaction[]): Receipt[] => {
    height++;
    const items = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
    const result = executeBlock(
      state,
      root,
      items,
      {
        chainId: genesis.chainId,
        height,
        timestamp: Date.now(),
        proposer: genesis.authorities[0]?.publicKey as Hex,
      },
      rules,
      'validate',
    );
    state.apply(result.writes);
    root = result.stateRoot;
    events.push(...eventsAt(state, height));
    return items.map((i) => state.get(receiptKey(i.hash)) as unknown as Receipt);
  };
  return {
    genesis,
    state,
    events,
    block,
    /** Runs empty blocks until the business clock has advanced `days` days (1 block = 1 day by default). */
    advance(days: number) {
      const blocks = Math.round(
        (days * DAY_MS) / (genesis.params.clock as { msPerBlock: number }).msPerBlock,
      );
      for (let i = 0; i < blocks; i++) block();
    },
    height: () => height,
    root: () => root,
    contract: (id: Hex) => state.get(contractKey(id)) as unknown as ContractRecord,
    motion: (id: Hex) => state.get(motionKey(id)) as unknown as Motion,
  };
}

/** Registers the municipality (submitter key with every municipal role), a template and the three providers. */
export function setUpCase(
  chain: ReturnType<typeof memoryChain>,
  b: ReturnType<typeof txBuilder>,
  cast: Cast,
  template = {},
) {
  const receipts = [
    ...chain.block(
      b.registerMunicipality(cast.authority, MUNICIPALITY_CVR, [
        { publicKey: cast.municipalAdmin.publicKey, roles: [], admin: true },
        { publicKey: cast.submitter.publicKey, roles: ['caseworker', 'centre-chief', 'director'] },
      ]),
    ),
    ...chain.block(
      b.registerProvider(cast.municipalAdmin, CARE_HOME_CVR, cast.careHome.key),
      b.registerProvider(cast.municipalAdmin, CONSULTANT_CVR, cast.consultant.key),
      b.registerProvider(cast.municipalAdmin, TAXI_CVR, cast.taxi.key),
      b.defineTemplate(cast.director, 'placement', template),
    ),
  ];
  for (const r of receipts) if (r.code !== 'OK') throw new Error(`setup failed: ${r.code} ${r.message}`);
  return `${MUNICIPALITY_CVR}/placement`;
}

/**
 * A care home's and a consultant's contracts (1 000 000 øre a month each, from 2026-02-01) with
 * their first monthly decisions made (March and April 2026): what a payments read sees.
 */
export function chainWithDecisions() {
  const cast = castOfCase();
  const genesis = contractsGenesis([cast.authority]);
  const chain = memoryChain(genesis);
  const b = txBuilder(genesis.chainId);
  const template = setUpCase(chain, b, cast);
  for (const rep of [cast.careHomeRep, cast.consultantRep]) {
    const create = b.create(cast.caseworker, {
      template,
      provider: rep.cvr,
      start: '2026-02-01',
      items: [{ code: 'service', monthly: 1_000_000 }],
      reportEveryMonths: 0,
    });
    chain.block(create);
    chain.block(b.proposeCosigned(cast.caseworker, transactionHash(create), 'activate', [rep]));
  }
  while (chain.height() < 70) chain.block(); // past the due dates of 1 March and 1 April
  return chain;
}
