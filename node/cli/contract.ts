/**
 * `tillid contract …`: templates, contracts, motions (with offline co-signatures), status reports,
 * and reading a contract back — on the client library, signed with a key file. Every signing
 * command acts for a party in a role as a pseudonymous actor (`--party --role --actor`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { TillidClient } from '../../client/http.ts';
import type { Cosignature, LineItem, MotionAction, TermsChange } from '../../client/payloads.ts';
import { pilotPolicies } from '../../client/policies.ts';
import type { MotionDraft } from '../../client/transactions.ts';
import { sha256Hex } from '../protocol/hash.ts';
import { parse, required, UsageError } from './args.ts';
import {
  actingFlags,
  actingOf,
  DEFAULT_API,
  signingFlags,
  signingSession,
  submitAndPrint,
} from './submit.ts';

const signing = { ...signingFlags, ...actingFlags } as const;

function readJson(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: ${(e as Error).message}`);
  }
}

function integer(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--${flag} must be a whole number, not ${text}`);
  return Number(text);
}

/** `<code>:<øre a month>[:YYYY-MM-DD]` */
export function parseItem(text: string): LineItem {
  const [code, monthly, until, ...rest] = text.split(':');
  if (!code || monthly === undefined || !/^\d{1,12}$/.test(monthly) || rest.length > 0)
    throw new UsageError(`--item ${text}: expected <code>:<øre a month>[:YYYY-MM-DD]`);
  return { code, monthly: Number(monthly), ...(until ? { until } : {}) };
}

export async function contractTemplate(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signing,
    code: { type: 'string' },
    policies: { type: 'string' },
    'approval-lifetime-days': { type: 'string', default: '30' },
    'no-release-withheld': { type: 'boolean', default: false },
  });
  const code = required(v.code, 'code');
  const policies = v.policies ? readJson(v.policies, 'policies') : pilotPolicies();
  const session = await signingSession(v, actingOf(v));
  await submitAndPrint(
    session,
    session.acting().defineTemplate({
      code,
      policies: policies as ReturnType<typeof pilotPolicies>,
      releaseWithheldOnReport: !v['no-release-withheld'],
      approvalLifetimeDays: integer(v['approval-lifetime-days'], 'approval-lifetime-days') as number,
    }),
    v.wait,
    { template: `${v.party}/${code}` },
  );
}

export async function contractCreate(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signing,
    template: { type: 'string' },
    provider: { type: 'string' },
    start: { type: 'string' },
    months: { type: 'string' },
    item: { type: 'string', multiple: true },
    'report-every-months': { type: 'string' },
    parent: { type: 'string' },
    'on-parent-end': { type: 'string' },
    kle: { type: 'string' },
    document: { type: 'string' },
  });
  const onParentEnd = v['on-parent-end'];
  if (onParentEnd !== undefined && onParentEnd !== 'terminate' && onParentEnd !== 'suspend')
    throw new UsageError('--on-parent-end is terminate or suspend');
  if ((v.parent === undefined) !== (onParentEnd === undefined))
    throw new UsageError('--parent and --on-parent-end go together');
  const months = integer(v.months, 'months');
  const items = required(v.item, 'item').map(parseItem);
  const reportEveryMonths = integer(
    required(v['report-every-months'], 'report-every-months'),
    'report-every-months',
  ) as number;
  const session = await signingSession(v, actingOf(v));
  await submitAndPrint(
    session,
    session.acting().create({
      template: required(v.template, 'template'),
      provider: required(v.provider, 'provider'),
      start: required(v.start, 'start'),
      items,
      reportEveryMonths,
      ...(months !== undefined ? { months } : {}),
      ...(v.parent !== undefined && onParentEnd !== undefined ? { parent: v.parent, onParentEnd } : {}),
      ...(v.kle !== undefined ? { kle: v.kle } : {}),
      ...(v.document !== undefined ? { document: v.document } : {}),
    }),
    v.wait,
  );
}

export async function contractPropose(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signing,
    contract: { type: 'string' },
    action: { type: 'string' },
    changes: { type: 'string' },
    reason: { type: 'string' },
    document: { type: 'string' },
    'draft-out': { type: 'string' },
    draft: { type: 'string' },
    cosignature: { type: 'string', multiple: true },
  });
  const session = await signingSession(v, actingOf(v));
  if (v.draft !== undefined) {
    const draft = readJson(v.draft, 'draft') as MotionDraft;
    const cosignatures = required(v.cosignature, 'cosignature').map(
      (f) => readJson(f, 'cosignature') as Cosignature,
    );
    await submitAndPrint(session, session.acting().proposeDraft(draft, cosignatures), v.wait);
    return;
  }
  const motion = {
    contract: required(v.contract, 'contract'),
    action: required(v.action, 'action') as MotionAction,
    ...(v.changes !== undefined ? { changes: readJson(v.changes, 'changes') as TermsChange } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.document !== undefined ? { document: v.document } : {}),
  };
  if (v['draft-out'] !== undefined) {
    writeFileSync(v['draft-out'], `${JSON.stringify(session.draftMotion(motion), null, 2)}\n`, {
      flag: 'wx',
    });
    console.log(JSON.stringify({ draft: v['draft-out'] }));
    return;
  }
  await submitAndPrint(session, session.acting().propose(motion), v.wait);
}

export async function contractCosign(args: string[]): Promise<void> {
  const v = parse(args, { ...signing, draft: { type: 'string' }, out: { type: 'string' } });
  const draft = readJson(required(v.draft, 'draft'), 'draft') as MotionDraft;
  const session = await signingSession(v, actingOf(v));
  const text = JSON.stringify(session.cosign(draft));
  if (v.out) {
    writeFileSync(v.out, `${text}\n`, { flag: 'wx' });
    console.log(JSON.stringify({ cosignature: v.out }));
  } else console.log(text);
}

export async function contractApprove(args: string[]): Promise<void> {
  const v = parse(args, { ...signing, motion: { type: 'string' } });
  const session = await signingSession(v, actingOf(v));
  await submitAndPrint(session, session.acting().approve(required(v.motion, 'motion')), v.wait);
}

export async function contractReport(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signing,
    contract: { type: 'string' },
    period: { type: 'string' },
    document: { type: 'string' },
    file: { type: 'string' },
  });
  const period = integer(required(v.period, 'period'), 'period') as number;
  let document = v.document;
  let salt: string | undefined;
  if (v.file !== undefined) {
    if (document !== undefined) throw new UsageError('give --document or --file, not both');
    salt = randomBytes(32).toString('hex');
    document = sha256Hex(Buffer.concat([Buffer.from(salt, 'hex'), readFileSync(v.file)]));
  }
  if (document === undefined) throw new UsageError('give --document <hex> or --file <path>');
  const session = await signingSession(v, actingOf(v));
  await submitAndPrint(
    session,
    session.acting().report({ contract: required(v.contract, 'contract'), period, document }),
    v.wait,
    { document, ...(salt ? { salt } : {}) },
  );
}

export async function contractShow(args: string[]): Promise<void> {
  const v = parse(args, { id: { type: 'string' }, api: { type: 'string', default: DEFAULT_API } });
  const id = required(v.id, 'id');
  const contract = await new TillidClient(v.api).contract(id);
  if (contract === undefined) {
    console.error(`tillid: CONTRACT_NOT_FOUND: no contract ${id}`);
    process.exitCode = 1;
    return;
  }
  console.log(JSON.stringify(contract, null, 2));
}

export async function contractList(args: string[]): Promise<void> {
  const v = parse(args, { party: { type: 'string' }, api: { type: 'string', default: DEFAULT_API } });
  const contracts = await new TillidClient(v.api).contracts(required(v.party, 'party'));
  console.log(JSON.stringify(contracts, null, 2));
}
