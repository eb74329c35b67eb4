/**
 * Fixtures for the contracts application: throwaway keys for a municipality and its providers,
 * transaction builders for every `party.*` and `contract.*` action, and an in-memory chain that
 * executes blocks with the real state machine on an accelerated business clock. Shared by the
 * scenario, property and network tests and by `npm run bench:contracts`.
 */
import { createHash } from 'node:crypto';
import type {
  Acting,
  CreateContractPayload,
  DefineTemplatePayload,
  KeyGrant,
  ProposePayload,
  Role,
  TransactionType,
} from '../client/payloads.ts';
import { pilotPolicies } from '../client/policies.ts';
import { transactions } from '../client/transactions.ts';
import type { JsonObject } from '../node/protocol/canonical.ts';
import { DEFAULT_PARAMS, type Genesis } from '../node/protocol/genesis.ts';
import type { Hex } from '../node/protocol/hash.ts';
import { generateKeyPair, type KeyPair } from '../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../node/protocol/transaction.ts';
import { applicationModules } from '../node/state/application.ts';
import { DAY_MS, parseDate } from '../node/state/contracts/calendar.ts';
import type { ApprovalPolicy } from '../node/state/contracts/policy.ts';
import type { ChainEvent } from '../node/state/events.ts';
import { eventsAt } from '../node/state/events.ts';
import { executeBlock, type Receipt, type Rules, receiptKey } from '../node/state/machine.ts';
import { type ContractRecord, contractKey, type Motion, motionKey } from '../node/state/modules/contract.ts';
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

/**
 * Builds signed transactions for one chain, on the client library (`client/`): the tests sign
 * exactly as a support system would. `sign` takes any payload, for the bad-input tests.
 */
export function txBuilder(chainId: string, now: () => number = Date.now) {
  const lib = transactions(chainId, { now, ttlMs: 30 * 60_000 });
  const sign = (key: KeyPair, type: string, payload: JsonObject, nonce?: string, expiresAt?: number) =>
    lib.sign(key, type as TransactionType, payload as never, {
      ...(nonce ? { nonce } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  const as = (a: Actor): Acting => ({ party: a.cvr, role: a.role as Role, actor: a.actor });
  const motion = (a: Actor, contract: Hex, action: string, extra: JsonObject) =>
    ({ as: as(a), contract, action, ...extra }) as unknown as ProposePayload;
  return {
    sign,
    registerMunicipality: (authority: KeyPair, cvr: string, keys: JsonObject[]) =>
      lib.party.register(authority, { cvr, kind: 'municipality', keys: keys as unknown as KeyGrant[] }),
    registerProvider: (admin: KeyPair, cvr: string, key: KeyPair) =>
      lib.party.register(admin, {
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
      lib.contract.defineTemplate(director.key, {
        as: as(director),
        code,
        policies: { ...pilotPolicies(), ...options.policies } as DefineTemplatePayload['policies'],
        releaseWithheldOnReport: options.releaseWithheldOnReport ?? true,
        approvalLifetimeDays: options.approvalLifetimeDays ?? 30,
      }),
    create: (caseworker: Actor, fields: JsonObject) =>
      lib.contract.create(caseworker.key, {
        as: as(caseworker),
        ...fields,
      } as unknown as CreateContractPayload),
    propose: (a: Actor, contract: Hex, action: string, extra: JsonObject = {}) =>
      lib.contract.propose(a.key, motion(a, contract, action, extra)),
    /**
     * The pilot's offline multisignature: the co-signers sign the motion first, then `a` proposes
     * it with their co-signatures, so one transaction carries every party's approval.
     */
    proposeCosigned: (a: Actor, contract: Hex, action: string, cosigners: Actor[], extra: JsonObject = {}) =>
      lib.contract.proposeCosigned(
        a.key,
        motion(a, contract, action, extra),
        cosigners.map((c) => ({ key: c.key, as: as(c) })),
      ),
    approve: (a: Actor, motion: Hex) => lib.contract.approve(a.key, { as: as(a), motion }),
    report: (a: Actor, contract: Hex, period: number, document: Hex) =>
      lib.contract.report(a.key, { as: as(a), contract, period, document }),
  };
}

export { pilotPolicies };

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
