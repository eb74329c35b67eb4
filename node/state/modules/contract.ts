/**
 * `contract`: municipal contracts — the placement of a child and its dependent contracts (school
 * support, consultant, taxi) — with approval policies, status reports and monthly payment
 * decisions. The interface (payloads, events, codes) is described in
 * `node/state/contracts/README.md`; the pure rules live in `contracts/terms.ts` and
 * `contracts/policy.ts`. Time is the block's business time (`contracts/calendar.ts`), never a clock.
 *
 * State layout (private to this module; the API reads it through `contracts/read-models.ts`):
 *   contract/template/<cvr>/<code>   Template
 *   contract/<id>                    ContractRecord (id = hash of the contract.create transaction)
 *   contract/<id>/t/<n>              the contract's timeline: ids of every event about it, in order
 *   contract/motion/<id>             Motion (id = hash of the contract.propose transaction)
 *   contract/by/<cvr>                list (lists.ts) of the contracts a party is on
 *   contract/agenda/<day>            list of contracts with a monthly due date that day
 *   contract/clock                   the last business day whose agenda was processed
 *   payment/<municipality>/<YYYY-MM> list of the payment decisions made in that month
 */
import type { Json, JsonObject } from '../../protocol/canonical.ts';
import { cosignDigest } from '../../protocol/cosign.ts';
import { TillidError } from '../../protocol/errors.ts';
import type { Genesis } from '../../protocol/genesis.ts';
import type { Hex } from '../../protocol/hash.ts';
import { isValidPublicKey, signingMessage, verifySignature } from '../../protocol/signature.ts';
import type { Transaction } from '../../protocol/transaction.ts';
import {
  addMonths,
  type BusinessClock,
  businessDay,
  clockOf,
  dayOfMonth,
  dueDay,
  formatDate,
  monthOf,
  parseDate,
} from '../contracts/calendar.ts';
import {
  type Approval,
  type ApprovalPolicy,
  decodePolicy,
  evaluate,
  type Party,
  type Role,
} from '../contracts/policy.ts';
import {
  type Decision,
  decide,
  isReportingPeriod,
  type LineItem,
  MAX_ITEMS,
  MAX_MONTHLY,
  MAX_MONTHS,
  missingReports,
  type Terms,
} from '../contracts/terms.ts';
import { emit } from '../events.ts';
import { append, readList } from '../lists.ts';
import type { BlockContext, Module, StateReader, StateWriter, TxContext } from '../module.ts';
import { type Acting, checkActing, readParty, resolveActing } from './party.ts';

export const MOTION_ACTIONS = ['activate', 'amend', 'suspend', 'resume', 'terminate'] as const;
export type MotionAction = (typeof MOTION_ACTIONS)[number];

export interface Template {
  readonly id: string;
  readonly municipality: string;
  readonly code: string;
  readonly policies: Readonly<Record<MotionAction, ApprovalPolicy>>;
  readonly releaseWithheldOnReport: boolean;
  readonly approvalLifetimeDays: number;
  readonly definedAt: number;
}

export type ContractStatus = 'draft' | 'active' | 'suspended' | 'terminated' | 'expired';

export interface TermsVersion {
  readonly terms: Terms;
  /** The first period these terms apply to. */
  readonly fromPeriod: number;
  readonly height: number;
  readonly motion?: Hex;
}

export interface ContractRecord {
  readonly id: Hex;
  readonly template: string;
  readonly municipality: string;
  readonly provider: string;
  readonly kle?: string;
  readonly start: string;
  readonly parent?: Hex;
  readonly onParentEnd?: 'terminate' | 'suspend';
  readonly children: readonly Hex[];
  readonly status: ContractStatus;
  /** Every version of the terms; the last is in force for undecided periods. */
  readonly versions: readonly TermsVersion[];
  /** Status reports by period: the document commitment and the height that recorded it. */
  readonly reports: Readonly<Record<string, { readonly document: Hex; readonly height: number }>>;
  readonly documents: readonly {
    readonly docType: string;
    readonly document: Hex;
    readonly height: number;
  }[];
  /** The last period with a payment decision; 0 before the first due date. */
  readonly decided: number;
  /** Total released, øre. */
  readonly released: number;
  /** Months withheld for a missing report that a late report can still release. */
  readonly releasable: readonly { readonly period: number; readonly amount: number }[];
  readonly lapsed: readonly string[];
  /** The business day on whose agenda the contract's next due date sits. */
  readonly scheduledFor?: number;
  readonly createdAt: number;
  readonly endedOn?: string;
  /** Number of timeline entries. */
  readonly timeline: number;
}

export interface MotionApproval extends Approval {
  readonly cvr: string;
  readonly height: number;
}

export interface Motion {
  readonly id: Hex;
  readonly contract: Hex;
  readonly action: MotionAction;
  readonly changes?: JsonObject;
  readonly reason?: string;
  readonly document?: Hex;
  readonly proposer: { readonly cvr: string; readonly role: Role; readonly actor: string };
  readonly proposedAt: number;
  /** The last business day on which it can be approved. */
  readonly expiresOn: string;
  readonly approvals: readonly MotionApproval[];
  readonly status: 'open' | 'executed';
  readonly executedAt?: number;
}

const templateKey = (id: string) => `contract/template/${id}`;
export const contractKey = (id: Hex) => `contract/${id}`;
export const timelineKey = (id: Hex, n: number) => `contract/${id}/t/${n}`;
export const motionKey = (id: Hex) => `contract/motion/${id}`;
export const byPartyKey = (cvr: string) => `contract/by/${cvr}`;
const agendaKey = (day: number) => `contract/agenda/${day}`;
const CLOCK = 'contract/clock';
export const paymentsKey = (municipality: string, month: string) => `payment/${municipality}/${month}`;

const CODE = /^[a-z][a-z0-9-]{0,31}$/;
const KLE = /^\d{2}(\.\d{2}){0,2}$/;
const HASH = /^[0-9a-f]{64}$/;
const MAX_CHILDREN = 32;
const MAX_COSIGNATURES = 8;
/** A chain that was down for long catches up at most this many business days per block. */
const MAX_DAYS_PER_BLOCK = 400;

const invalid = (message: string, path?: string) =>
  new TillidError('TX_PAYLOAD_INVALID', message, path ? { path } : undefined);
const wrongState = (message: string) => new TillidError('CONTRACT_STATE', message);

// ---- stateless payload checks --------------------------------------------------------------

function fields(payload: JsonObject, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(payload))
    if (!allowed.includes(k)) throw invalid(`${where}: unknown field ${k}`, k);
}
function code(value: unknown, path: string): void {
  if (typeof value !== 'string' || !CODE.test(value))
    throw invalid(`${path} must be a short code (a-z, 0-9, -; at most 32), not free text`, path);
}
function hash(value: unknown, path: string): void {
  if (typeof value !== 'string' || !HASH.test(value))
    throw invalid(`${path} must be a 32-byte hex digest`, path);
}
function int(value: unknown, min: number, max: number, path: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
    throw invalid(`${path} must be an integer from ${min} to ${max}`, path);
}
function date(value: unknown, path: string): number {
  const day = parseDate(value);
  if (day === undefined) throw invalid(`${path} must be a date YYYY-MM-DD`, path);
  return day;
}

function checkItems(value: unknown, start: number | undefined, path: string): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_ITEMS)
    throw invalid(`${path} must list 1-${MAX_ITEMS} line items`, path);
  const codes = new Set<unknown>();
  value.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw invalid(`${at} must be an object`, at);
    fields(item as JsonObject, ['code', 'monthly', 'until'], at);
    const { code: c, monthly, until } = item as JsonObject;
    code(c, `${at}.code`);
    if (codes.has(c)) throw invalid(`${at}.code: ${String(c)} twice`, at);
    codes.add(c);
    int(monthly, 1, MAX_MONTHLY, `${at}.monthly`);
    if (until !== undefined) {
      const day = date(until, `${at}.until`);
      if (start !== undefined && day <= start) throw invalid(`${at}.until must be after the start date`, at);
    }
  });
}

function checkTermsChange(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('changes must be an object', 'changes');
  const changes = value as JsonObject;
  fields(changes, ['items', 'months', 'reportEveryMonths'], 'changes');
  if (Object.keys(changes).length === 0) throw invalid('changes is empty', 'changes');
  if (changes.items !== undefined) checkItems(changes.items, undefined, 'changes.items');
  if (changes.months !== undefined && changes.months !== null)
    int(changes.months, 1, MAX_MONTHS, 'changes.months');
  if (changes.reportEveryMonths !== undefined)
    int(changes.reportEveryMonths, 0, 12, 'changes.reportEveryMonths');
}

function checkCosignatures(value: unknown): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_COSIGNATURES)
    throw invalid(`cosignatures must list 1-${MAX_COSIGNATURES} co-signatures`, 'cosignatures');
  value.forEach((cs, i) => {
    const at = `cosignatures[${i}]`;
    if (typeof cs !== 'object' || cs === null || Array.isArray(cs))
      throw invalid(`${at} must be an object`, at);
    fields(cs as JsonObject, ['as', 'publicKey', 'signature'], at);
    checkActing((cs as JsonObject).as, `${at}.as`);
    if (!isValidPublicKey((cs as JsonObject).publicKey))
      throw invalid(`${at}.publicKey must be an Ed25519 key`, at);
    const signature = (cs as JsonObject).signature;
    if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature))
      throw invalid(`${at}.signature must be 64 bytes of hex`, at);
  });
}

function checkPayload(action: string, p: JsonObject): void {
  const where = `contract.${action}`;
  checkActing(p.as);
  switch (action) {
    case 'defineTemplate': {
      fields(p, ['as', 'code', 'policies', 'releaseWithheldOnReport', 'approvalLifetimeDays'], where);
      code(p.code, 'code');
      if (typeof p.policies !== 'object' || p.policies === null || Array.isArray(p.policies))
        throw invalid('policies must name a policy for each action', 'policies');
      fields(p.policies, MOTION_ACTIONS, 'policies');
      for (const a of MOTION_ACTIONS) decodePolicy(p.policies[a], `policies.${a}`);
      if (typeof p.releaseWithheldOnReport !== 'boolean')
        throw invalid('releaseWithheldOnReport must be a boolean', 'releaseWithheldOnReport');
      int(p.approvalLifetimeDays, 1, 365, 'approvalLifetimeDays');
      return;
    }
    case 'create': {
      fields(
        p,
        [
          'as',
          'template',
          'provider',
          'start',
          'months',
          'items',
          'reportEveryMonths',
          'parent',
          'onParentEnd',
          'kle',
          'document',
        ],
        where,
      );
      if (typeof p.template !== 'string' || !/^\d{8}\/[a-z][a-z0-9-]{0,31}$/.test(p.template))
        throw invalid('template must be <municipality CVR>/<code>', 'template');
      if (typeof p.provider !== 'string' || !/^\d{8}$/.test(p.provider))
        throw invalid('provider must be a CVR number', 'provider');
      const start = date(p.start, 'start');
      if (dayOfMonth(start) > 28)
        throw invalid('start must fall on day 1-28, so every monthly due date exists', 'start');
      if (p.months !== undefined) int(p.months, 1, MAX_MONTHS, 'months');
      checkItems(p.items, start, 'items');
      int(p.reportEveryMonths, 0, 12, 'reportEveryMonths');
      if (p.parent !== undefined) hash(p.parent, 'parent');
      if ((p.parent === undefined) !== (p.onParentEnd === undefined))
        throw invalid('parent and onParentEnd go together', 'onParentEnd');
      if (p.onParentEnd !== undefined && p.onParentEnd !== 'terminate' && p.onParentEnd !== 'suspend')
        throw invalid("onParentEnd is 'terminate' or 'suspend'", 'onParentEnd');
      if (p.kle !== undefined && (typeof p.kle !== 'string' || !KLE.test(p.kle)))
        throw invalid('kle must be a KLE code such as 27.35.04', 'kle');
      if (p.document !== undefined) hash(p.document, 'document');
      return;
    }
    case 'propose': {
      fields(p, ['as', 'contract', 'action', 'changes', 'reason', 'document', 'cosignatures'], where);
      if (p.cosignatures !== undefined) checkCosignatures(p.cosignatures);
      hash(p.contract, 'contract');
      if (!MOTION_ACTIONS.includes(p.action as MotionAction))
        throw invalid(`action must be one of ${MOTION_ACTIONS.join(', ')}`, 'action');
      if (p.action === 'amend') checkTermsChange(p.changes);
      else if (p.changes !== undefined) throw invalid('changes belong to an amend motion only', 'changes');
      if (p.reason !== undefined) code(p.reason, 'reason');
      if (p.document !== undefined) hash(p.document, 'document');
      return;
    }
    case 'approve':
      fields(p, ['as', 'motion'], where);
      hash(p.motion, 'motion');
      return;
    case 'report':
      fields(p, ['as', 'contract', 'period', 'document'], where);
      hash(p.contract, 'contract');
      int(p.period, 1, MAX_MONTHS, 'period');
      hash(p.document, 'document');
      return;
  }
}

// ---- state helpers ---------------------------------------------------------------------------

const read = <T>(state: StateReader, key: string): T | undefined =>
  state.get(key) as unknown as T | undefined;
const write = (state: StateWriter, key: string, value: unknown): void => state.set(key, value as Json);

export const currentTerms = (c: ContractRecord): Terms =>
  (c.versions[c.versions.length - 1] as TermsVersion).terms;

/** The terms in force for `period`: the last version that applies from that period or earlier. */
export function termsFor(c: ContractRecord, period: number): Terms {
  let terms = (c.versions[0] as TermsVersion).terms;
  for (const v of c.versions) if (v.fromPeriod <= period) terms = v.terms;
  return terms;
}

function requireContract(state: StateReader, id: Hex): ContractRecord {
  const c = read<ContractRecord>(state, contractKey(id));
  if (!c) throw new TillidError('CONTRACT_NOT_FOUND', `no contract ${id}`);
  return c;
}

/** Puts the contract on `day`'s agenda, once. */
function schedule(state: StateWriter, day: number, c: ContractRecord): ContractRecord {
  if (c.scheduledFor === day) return c;
  append(state, agendaKey(day), c.id);
  return { ...c, scheduledFor: day };
}

/** Emits a contract event and appends it to the contract's timeline. Returns the updated record. */
function record(
  state: StateWriter,
  ctx: BlockContext,
  c: ContractRecord,
  type: string,
  extra: JsonObject = {},
  today?: number,
): ContractRecord {
  const event = emit(state, ctx, type, {
    contract: c.id,
    municipality: c.municipality,
    provider: c.provider,
    ...(c.kle ? { kle: c.kle } : {}),
    ...(today !== undefined ? { on: formatDate(today) } : {}),
    ...extra,
  });
  // The id only: the event itself is in the block's list, and state roots hash each value once.
  write(state, timelineKey(c.id, c.timeline), event.id);
  return { ...c, timeline: c.timeline + 1 };
}

function recordDecision(
  state: StateWriter,
  ctx: BlockContext,
  c: ContractRecord,
  d: Decision,
  today: number,
): ContractRecord {
  const type = d.kind === 'release' ? 'payment.released' : 'payment.withheld';
  const due = formatDate(dueDay(parseDate(c.start) as number, d.period));
  const next = record(
    state,
    ctx,
    c,
    type,
    { period: d.period, due, amount: d.amount, reason: d.reason },
    today,
  );
  const event = read<string>(state, timelineKey(c.id, c.timeline)) as string;
  const month = monthOf(today);
  const entry = {
    contract: c.id,
    provider: c.provider,
    period: d.period,
    due,
    kind: d.kind,
    amount: d.amount,
    reason: d.reason,
    event,
  };
  append(state, paymentsKey(c.municipality, month), entry);
  return d.kind === 'release' ? { ...next, released: next.released + d.amount } : next;
}

// ---- the business rules that run with time ----------------------------------------------------

/**
 * Makes every payment decision due on or before `today`, then expires a contract whose last month
 * is decided, or schedules its next due date. Runs at block start (the agenda) and when a contract
 * is activated or resumed late (catching up).
 */
function catchUp(state: StateWriter, ctx: BlockContext, id: Hex, today: number): void {
  let c = requireContract(state, id);
  const start = parseDate(c.start) as number;
  while (c.status === 'active' || c.status === 'suspended') {
    const terms = currentTerms(c);
    const period = c.decided + 1;
    if (terms.months !== null && period > terms.months) {
      c = endContract(state, ctx, c, 'expired', today);
      break;
    }
    const due = dueDay(start, period);
    if (due > today) {
      c = schedule(state, due, c);
      break;
    }
    c = decidePeriod(state, ctx, c, period, today);
  }
  write(state, contractKey(id), c);
}

function decidePeriod(
  state: StateWriter,
  ctx: BlockContext,
  contract: ContractRecord,
  period: number,
  today: number,
): ContractRecord {
  let c = contract;
  const terms = currentTerms(c);
  const start = parseDate(c.start) as number;
  // Items that lapse from this period on are announced once, when they stop being paid.
  for (const item of terms.items) {
    if (
      item.until !== undefined &&
      !c.lapsed.includes(item.code) &&
      (parseDate(item.until) as number) <= addMonths(start, period - 1)
    ) {
      c = record(
        state,
        ctx,
        { ...c, lapsed: [...c.lapsed, item.code] },
        'item.lapsed',
        { item: item.code, until: item.until },
        today,
      );
    }
  }
  const reported = (p: number) => c.reports[String(p)] !== undefined;
  const inForce = (p: number) => termsFor(c, p);
  if (missingReports(inForce, period, reported).includes(period)) {
    c = record(state, ctx, c, 'report.overdue', { period, due: formatDate(dueDay(start, period)) }, today);
  }
  const parent = c.parent ? requireContract(state, c.parent) : undefined;
  const decision = decide({
    termsFor: inForce,
    start,
    period,
    suspended: c.status === 'suspended',
    parentActive: parent === undefined || parent.status === 'active',
    reported,
  });
  // Once every line item has lapsed there is nothing to decide; the economy system hears nothing.
  if (decision.amount > 0) c = recordDecision(state, ctx, c, decision, today);
  const template = read<Template>(state, templateKey(c.template)) as Template;
  if (decision.reason === 'report-missing' && template.releaseWithheldOnReport) {
    c = { ...c, releasable: [...c.releasable, { period, amount: decision.amount }] };
  }
  return { ...c, decided: period };
}

/** Terminates or expires a contract and, in the same block, its dependants per their rule. */
function endContract(
  state: StateWriter,
  ctx: BlockContext,
  contract: ContractRecord,
  how: 'terminated' | 'expired',
  today: number,
  extra: JsonObject = {},
): ContractRecord {
  let c: ContractRecord = { ...contract, status: how, endedOn: formatDate(today) };
  c = record(state, ctx, c, how === 'terminated' ? 'contract.terminated' : 'contract.expired', extra, today);
  write(state, contractKey(c.id), c);
  for (const childId of c.children) {
    const child = requireContract(state, childId);
    if (child.status === 'terminated' || child.status === 'expired') continue;
    const cause = { cause: how === 'terminated' ? 'parent-terminated' : 'parent-expired', parent: c.id };
    if (child.onParentEnd === 'terminate' || child.status === 'draft') {
      endContract(state, ctx, child, 'terminated', today, cause);
    } else if (child.status === 'active') {
      write(
        state,
        contractKey(child.id),
        record(state, ctx, { ...child, status: 'suspended' }, 'contract.suspended', cause, today),
      );
    }
  }
  return c;
}

// ---- motions ---------------------------------------------------------------------------------

/** Does the policy have a leaf this (party, role) can fill? */
function policyUses(policy: ApprovalPolicy, party: Party, role: Role): boolean {
  if ('signers' in policy) return policy.party === party && policy.role === role;
  const parts = 'all' in policy ? policy.all : 'any' in policy ? policy.any : policy.of;
  return parts.some((p) => policyUses(p, party, role));
}

function onContract(c: ContractRecord, acting: Acting): void {
  const side = acting.party === 'municipality' ? c.municipality : c.provider;
  if (acting.cvr !== side)
    throw new TillidError('PARTY_NOT_ON_CONTRACT', `CVR ${acting.cvr} is not a party to contract ${c.id}`);
}

function checkMotionAllowed(
  state: StateReader,
  c: ContractRecord,
  action: MotionAction,
  changes?: JsonObject,
): void {
  const ended = c.status === 'terminated' || c.status === 'expired';
  if (ended) throw wrongState(`contract ${c.id} is ${c.status}; it cannot be changed`);
  const expected: Record<MotionAction, readonly ContractStatus[]> = {
    activate: ['draft'],
    amend: ['draft', 'active', 'suspended'],
    suspend: ['active'],
    resume: ['suspended'],
    terminate: ['draft', 'active', 'suspended'],
  };
  if (!expected[action].includes(c.status))
    throw wrongState(`cannot ${action} a contract that is ${c.status}`);
  if ((action === 'activate' || action === 'resume') && c.parent) {
    const parent = requireContract(state, c.parent);
    if (parent.status !== 'active') throw wrongState(`the parent contract is ${parent.status}`);
  }
  if (
    action === 'amend' &&
    changes?.months !== undefined &&
    changes.months !== null &&
    (changes.months as number) < c.decided
  )
    throw wrongState(`months cannot end before period ${c.decided}, which is decided already`);
  // Checked at proposal too: a motion that could never execute must not be left open.
  if (action === 'amend' && Array.isArray(changes?.items)) {
    const start = parseDate(c.start) as number;
    for (const item of changes.items as unknown as LineItem[])
      if (item.until !== undefined && (parseDate(item.until) as number) <= start)
        throw invalid(`changes.items: ${item.code}.until must be after the start date`);
  }
}

function execute(state: StateWriter, ctx: TxContext, motion: Motion, today: number): void {
  let c = requireContract(state, motion.contract);
  checkMotionAllowed(state, c, motion.action, motion.changes);
  const by = {
    motion: motion.id,
    approvals: motion.approvals.map(({ cvr, role, actor }) => ({ cvr, role, actor })),
  };
  if (motion.document)
    c = {
      ...c,
      documents: [...c.documents, { docType: motion.action, document: motion.document, height: ctx.height }],
    };
  switch (motion.action) {
    case 'activate':
      c = record(state, ctx, { ...c, status: 'active' }, 'contract.activated', by, today);
      write(state, contractKey(c.id), c);
      catchUp(state, ctx, c.id, today);
      return;
    case 'resume':
      c = record(state, ctx, { ...c, status: 'active' }, 'contract.resumed', by, today);
      write(state, contractKey(c.id), c);
      return;
    case 'suspend':
      c = record(state, ctx, { ...c, status: 'suspended' }, 'contract.suspended', by, today);
      write(state, contractKey(c.id), c);
      return;
    case 'terminate':
      endContract(state, ctx, c, 'terminated', today, {
        ...by,
        ...(motion.reason ? { reason: motion.reason } : {}),
      });
      return;
    case 'amend': {
      const changes = motion.changes as JsonObject;
      const old = currentTerms(c);
      const terms: Terms = {
        items: (changes.items as unknown as LineItem[] | undefined) ?? old.items,
        months: changes.months === undefined ? old.months : (changes.months as number | null),
        reportEveryMonths: (changes.reportEveryMonths as number | undefined) ?? old.reportEveryMonths,
      };
      const version: TermsVersion = {
        terms,
        fromPeriod: c.decided + 1,
        height: ctx.height,
        motion: motion.id,
      };
      // An item extended past its old `until` is paid again from the next period.
      const lapsed = c.lapsed.filter(
        (code) =>
          !terms.items.some(
            (i) => i.code === code && i.until !== old.items.find((o) => o.code === code)?.until,
          ),
      );
      c = record(
        state,
        ctx,
        { ...c, versions: [...c.versions, version], lapsed },
        'contract.amended',
        { ...by, fromPeriod: version.fromPeriod },
        today,
      );
      write(state, contractKey(c.id), c);
      // A contract already running past its new last month expires now.
      if (c.status !== 'draft') catchUp(state, ctx, c.id, today);
      return;
    }
  }
}

/**
 * Records approvals of a motion — the proposer's, co-signers', or one approver's — and executes the
 * motion in this transaction if they satisfy its policy. The proposer may be outside the policy
 * (a caseworker proposing what a director decides); anyone else must fit it.
 */
function addApprovals(
  state: StateWriter,
  ctx: TxContext,
  motion: Motion,
  actings: readonly { readonly acting: Acting; readonly proposer: boolean }[],
  today: number,
): void {
  let c = requireContract(state, motion.contract);
  const template = read<Template>(state, templateKey(c.template)) as Template;
  const policy = template.policies[motion.action];
  let approvals = motion.approvals;
  for (const { acting, proposer } of actings) {
    const counts = policyUses(policy, acting.party, acting.role);
    if (!counts && !proposer)
      throw new TillidError(
        'APPROVAL_NOT_ALLOWED',
        `${acting.party} ${acting.role} is not part of the ${motion.action} policy`,
      );
    if (approvals.some((a) => a.actor === acting.actor))
      throw new TillidError('APPROVAL_EXISTS', 'this actor has approved the motion already');
    if (!counts) continue;
    approvals = [
      ...approvals,
      { actor: acting.actor, party: acting.party, role: acting.role, cvr: acting.cvr, height: ctx.height },
    ];
    c = record(
      state,
      ctx,
      c,
      'contract.approved',
      { motion: motion.id, action: motion.action, cvr: acting.cvr, role: acting.role, actor: acting.actor },
      today,
    );
  }
  write(state, contractKey(c.id), c);
  if (evaluate(policy, approvals).satisfied) {
    const executed: Motion = { ...motion, approvals, status: 'executed', executedAt: ctx.height };
    write(state, motionKey(motion.id), executed);
    execute(state, ctx, executed, today);
    return;
  }
  write(state, motionKey(motion.id), { ...motion, approvals });
}

// The digest co-signers sign is the protocol's (clients compute it too); re-exported for old imports.
export { cosignDigest };

// ---- the module ------------------------------------------------------------------------------

export function contractModule(genesis: Genesis): Module {
  const clock: BusinessClock = clockOf(genesis);

  function apply(state: StateWriter, tx: Transaction, action: string, ctx: TxContext): void {
    const p = tx.payload;
    const acting = resolveActing(state, tx.signer, p.as as JsonObject);
    const today = businessDay(clock, ctx);
    switch (action) {
      case 'defineTemplate': {
        if (acting.party !== 'municipality' || acting.role !== 'director')
          throw new TillidError('ROLE_NOT_ALLOWED', 'a template is defined by a municipal director');
        const id = `${acting.cvr}/${p.code as string}`;
        if (state.get(templateKey(id)) !== undefined)
          throw new TillidError(
            'TEMPLATE_EXISTS',
            `template ${id} exists; templates are immutable, use a new code`,
          );
        const policies = Object.fromEntries(
          MOTION_ACTIONS.map((a) => [a, decodePolicy((p.policies as JsonObject)[a])]),
        );
        const template: Template = {
          id,
          municipality: acting.cvr,
          code: p.code as string,
          policies: policies as Template['policies'],
          releaseWithheldOnReport: p.releaseWithheldOnReport as boolean,
          approvalLifetimeDays: p.approvalLifetimeDays as number,
          definedAt: ctx.height,
        };
        write(state, templateKey(id), template);
        emit(state, ctx, 'contract.template-defined', { template: id, municipality: acting.cvr });
        return;
      }
      case 'create': {
        if (acting.party !== 'municipality')
          throw new TillidError('ROLE_NOT_ALLOWED', 'a contract is drafted by the municipality');
        const template = read<Template>(state, templateKey(p.template as string));
        if (!template || template.municipality !== acting.cvr)
          throw new TillidError(
            'TEMPLATE_NOT_FOUND',
            `municipality ${acting.cvr} has no template ${p.template as string}`,
          );
        const provider = readParty(state, p.provider as string);
        if (!provider || provider.kind !== 'provider')
          throw new TillidError(
            'PARTY_NOT_FOUND',
            `no provider with CVR ${p.provider as string} is registered`,
          );
        let parent: ContractRecord | undefined;
        if (p.parent !== undefined) {
          parent = requireContract(state, p.parent as Hex);
          if (parent.municipality !== acting.cvr)
            throw new TillidError(
              'PARTY_NOT_ON_CONTRACT',
              'the parent contract belongs to another municipality',
            );
          if (parent.status === 'terminated' || parent.status === 'expired')
            throw wrongState(`the parent contract is ${parent.status}`);
          if (parent.children.length >= MAX_CHILDREN)
            throw wrongState(`a contract has at most ${MAX_CHILDREN} dependants`);
        }
        const terms: Terms = {
          items: p.items as unknown as LineItem[],
          months: (p.months as number | undefined) ?? null,
          reportEveryMonths: p.reportEveryMonths as number,
        };
        let c: ContractRecord = {
          id: ctx.txHash,
          template: template.id,
          municipality: acting.cvr,
          provider: provider.cvr,
          ...(p.kle ? { kle: p.kle as string } : {}),
          start: p.start as string,
          ...(parent ? { parent: parent.id, onParentEnd: p.onParentEnd as 'terminate' | 'suspend' } : {}),
          children: [],
          status: 'draft',
          versions: [{ terms, fromPeriod: 1, height: ctx.height }],
          reports: {},
          documents: p.document
            ? [{ docType: 'contract', document: p.document as Hex, height: ctx.height }]
            : [],
          decided: 0,
          released: 0,
          releasable: [],
          lapsed: [],
          createdAt: ctx.height,
          timeline: 0,
        };
        c = record(
          state,
          ctx,
          c,
          'contract.created',
          { role: acting.role, actor: acting.actor, ...(parent ? { parent: parent.id } : {}) },
          today,
        );
        write(state, contractKey(c.id), c);
        if (parent) write(state, contractKey(parent.id), { ...parent, children: [...parent.children, c.id] });
        append(state, byPartyKey(c.municipality), c.id);
        append(state, byPartyKey(c.provider), c.id);
        return;
      }
      case 'propose': {
        const c = requireContract(state, p.contract as Hex);
        onContract(c, acting);
        const motionAction = p.action as MotionAction;
        checkMotionAllowed(state, c, motionAction, p.changes as JsonObject | undefined);
        const template = read<Template>(state, templateKey(c.template)) as Template;
        const motion: Motion = {
          id: ctx.txHash,
          contract: c.id,
          action: motionAction,
          ...(p.changes ? { changes: p.changes as JsonObject } : {}),
          ...(p.reason ? { reason: p.reason as string } : {}),
          ...(p.document ? { document: p.document as Hex } : {}),
          proposer: { cvr: acting.cvr, role: acting.role, actor: acting.actor },
          proposedAt: ctx.height,
          expiresOn: formatDate(today + template.approvalLifetimeDays),
          approvals: [],
          status: 'open',
        };
        const c2 = record(
          state,
          ctx,
          c,
          'contract.proposed',
          {
            motion: motion.id,
            action: motionAction,
            cvr: acting.cvr,
            role: acting.role,
            actor: acting.actor,
          },
          today,
        );
        write(state, contractKey(c.id), c2);
        write(state, motionKey(motion.id), motion);
        const digest = cosignDigest(ctx.chainId, p, tx.nonce, tx.expiresAt);
        const cosigners = ((p.cosignatures as JsonObject[] | undefined) ?? []).map((cs, i) => {
          const cosigner = resolveActing(state, cs.publicKey as Hex, cs.as as JsonObject);
          onContract(c, cosigner);
          // The one signature rule, as for transactions; deterministic on every node.
          if (!verifySignature(cs.publicKey as Hex, signingMessage('cosign', digest), cs.signature as string))
            throw new TillidError(
              'COSIGNATURE_INVALID',
              `cosignatures[${i}] does not verify for this motion`,
            );
          return { acting: cosigner, proposer: false };
        });
        addApprovals(state, ctx, motion, [{ acting, proposer: true }, ...cosigners], today);
        return;
      }
      case 'approve': {
        const motion = read<Motion>(state, motionKey(p.motion as Hex));
        if (!motion) throw new TillidError('MOTION_NOT_FOUND', `no motion ${p.motion as string}`);
        if (motion.status !== 'open') throw wrongState('the motion has been executed already');
        if (today > (parseDate(motion.expiresOn) as number))
          throw new TillidError(
            'APPROVAL_EXPIRED',
            `the motion expired on ${motion.expiresOn}; propose it again`,
          );
        onContract(requireContract(state, motion.contract), acting);
        addApprovals(state, ctx, motion, [{ acting, proposer: false }], today);
        return;
      }
      case 'report': {
        let c = requireContract(state, p.contract as Hex);
        if (acting.party !== 'provider' || acting.cvr !== c.provider)
          throw new TillidError(
            'PARTY_NOT_ON_CONTRACT',
            "a status report comes from the contract's provider",
          );
        const terms = currentTerms(c);
        const period = p.period as number;
        // An ended contract still takes the reports for months it decided: a late report releases
        // what was withheld for it (the pilot's K1 expires on its last month, report or not).
        const ended = c.status === 'terminated' || c.status === 'expired';
        if (c.status === 'draft' || (ended && period > c.decided))
          throw wrongState(`contract ${c.id} is ${c.status}`);
        const start = parseDate(c.start) as number;
        if (!isReportingPeriod(termsFor(c, period), period))
          throw new TillidError('REPORT_PERIOD_INVALID', `no status report is required for period ${period}`);
        if ((terms.months !== null && period > terms.months) || addMonths(start, period - 1) > today)
          throw new TillidError('REPORT_PERIOD_INVALID', `period ${period} has not begun`);
        if (c.reports[String(period)])
          throw new TillidError('REPORT_EXISTS', `the report for period ${period} is recorded already`);
        c = {
          ...c,
          reports: { ...c.reports, [String(period)]: { document: p.document as Hex, height: ctx.height } },
        };
        c = record(
          state,
          ctx,
          c,
          'report.received',
          { period, document: p.document as Hex, actor: acting.actor },
          today,
        );
        const stillMissing = missingReports(
          (k) => termsFor(c, k),
          c.decided,
          (k) => c.reports[String(k)] !== undefined,
        );
        if (stillMissing.length === 0 && c.releasable.length > 0) {
          for (const { period: withheld, amount } of c.releasable)
            c = recordDecision(
              state,
              ctx,
              c,
              { period: withheld, kind: 'release', amount, reason: 'report-received' },
              today,
            );
          c = { ...c, releasable: [] };
        }
        write(state, contractKey(c.id), c);
        return;
      }
    }
  }

  return {
    name: 'contract',
    actions: ['defineTemplate', 'create', 'propose', 'approve', 'report'],
    checkPayload,
    apply,
    beginBlock(state, ctx) {
      const today = businessDay(clock, ctx);
      const last = read<number>(state, CLOCK);
      if (last === undefined) {
        write(state, CLOCK, today);
        return;
      }
      if (today <= last) return;
      const until = Math.min(today, last + MAX_DAYS_PER_BLOCK);
      // In agenda order, which is the order contracts were scheduled in: the same on every node.
      for (let day = last + 1; day <= until; day++)
        for (const id of readList<Hex>(state, agendaKey(day))) catchUp(state, ctx, id, day);
      write(state, CLOCK, until);
    },
  };
}

export const readTemplate = (state: StateReader, id: string): Template | undefined =>
  read<Template>(state, templateKey(id));
