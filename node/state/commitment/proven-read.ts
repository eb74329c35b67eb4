/**
 * A proven read: the answer to one read (reads.ts) with everything needed to check it offline
 * against nothing but the genesis — the certified header it is proven at, the state proofs of every
 * key the answer was derived from, and the certified headers that carry the authority set from the
 * genesis to that height. `tillid proof verify` and the gateway check it with `verifyProvenRead`.
 *
 * Trust in the authority set: the genesis set is trusted; each later set is taken from the
 * `governance/schedule` entry proven under a header certified by the set before it (the block just
 * before the change takes effect). A header is accepted when more than two thirds of the set the
 * verifier derived for its height signed it, and the schedule proven under that header agrees with
 * that set — so a file that leaves out a change fails.
 */
import type { BlockHeader, CommitCertificate } from '../../protocol/block.ts';
import { blockHash, certificateProblem } from '../../protocol/block.ts';
import { canonicalBytes, type Json } from '../../protocol/canonical.ts';
import type { Authority, Genesis } from '../../protocol/genesis.ts';
import { type Hex, isHex } from '../../protocol/hash.ts';
import { merkleRoot } from '../../protocol/merkle.ts';
import { SCHEDULE_KEY, type ScheduledSet } from '../modules/governance.ts';
import { ProvenState, type StateProof, stateProofProblem, UnprovenKeyError } from './proof.ts';
import { evaluateRead, type ReadSpec, readSpecProblem } from './reads.ts';

export const PROVEN_READ_FORMAT = 'tillid/proven-read/v1';

export interface CertifiedHeader {
  readonly header: BlockHeader;
  readonly certificate: CommitCertificate;
}

/** A certified header and the authority schedule proven under it. */
export interface AuthorityStep extends CertifiedHeader {
  readonly schedule: StateProof;
}

export interface ProvenRead extends AuthorityStep {
  readonly format: typeof PROVEN_READ_FORMAT;
  readonly read: ReadSpec;
  /** The answer; `null` when there is nothing (proven absent). */
  readonly value: Json;
  readonly height: number;
  readonly blockHash: Hex;
  /** Proofs of every state key the answer was derived from, present or absent. */
  readonly entries: readonly StateProof[];
  /** `receipts` reads: the block's transaction hashes, checked against the header's txRoot. */
  readonly transactions?: readonly Hex[];
  /** Certified headers just before each authority change up to `height`, oldest first. */
  readonly authorityChanges: readonly AuthorityStep[];
}

export type ReadVerdict =
  | { ok: true; read: ReadSpec; value: Json; height: number; blockHash: Hex }
  | { ok: false; reason: string };

const FIELDS = new Set([
  'format',
  'read',
  'value',
  'height',
  'blockHash',
  'header',
  'certificate',
  'schedule',
  'entries',
  'transactions',
  'authorityChanges',
]);

const sameJson = (a: unknown, b: unknown): boolean => {
  try {
    return Buffer.from(canonicalBytes(a)).equals(Buffer.from(canonicalBytes(b)));
  } catch {
    return false;
  }
};

const setAt = (schedule: readonly ScheduledSet[], height: number): readonly Authority[] => {
  let current: readonly Authority[] = [];
  for (const entry of schedule) if (entry.fromHeight <= height) current = entry.authorities;
  return current;
};

/** Checks a proven read against the genesis alone. Never throws; a malformed file is a failure. */
export function verifyProvenRead(genesis: Genesis, input: unknown): ReadVerdict {
  try {
    return verify(genesis, input);
  } catch (e) {
    return { ok: false, reason: `malformed proven read: ${(e as Error).message}` };
  }
}

function verify(genesis: Genesis, input: unknown): ReadVerdict {
  const fail = (reason: string): ReadVerdict => ({ ok: false, reason });
  if (typeof input !== 'object' || input === null) return fail('not an object');
  const r = input as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!FIELDS.has(k)) return fail(`unknown field ${k}`);
  if (r.format !== PROVEN_READ_FORMAT) return fail(`format must be ${PROVEN_READ_FORMAT}`);
  const specProblem = readSpecProblem(r.read);
  if (specProblem) return fail(specProblem);
  const read = r.read as ReadSpec;
  if (!Array.isArray(r.entries) || !Array.isArray(r.authorityChanges))
    return fail('entries and authorityChanges are lists');
  if (!('value' in r)) return fail('no value');
  const final = r as unknown as ProvenRead;

  // 1. The authority set from the genesis to the read's header, and the header's certificate.
  let known: readonly ScheduledSet[] = [{ fromHeight: 1, authorities: genesis.authorities }];
  let previous = 0;
  for (const step of [...(final.authorityChanges as unknown[]), final] as AuthorityStep[]) {
    const stepProblem = checkStep(genesis, step, known, previous);
    if (typeof stepProblem === 'string') return fail(stepProblem);
    known = stepProblem;
    previous = step.header.height;
  }
  const { header } = final;
  if (final.height !== header.height) return fail('height is not the header height');
  if (final.blockHash !== blockHash(header)) return fail('blockHash is not the header hash');

  // 2. Every entry under the header's state root, each key once.
  const seen = new Set<string>();
  for (const entry of final.entries) {
    const problem = stateProofProblem(header.stateRoot, entry);
    if (problem) return fail(`entry ${JSON.stringify((entry as StateProof)?.key)}: ${problem}`);
    if (seen.has(entry.key)) return fail(`entry ${entry.key} appears twice`);
    seen.add(entry.key);
  }

  // 3. The answer, derived again from the proven entries by the read's own definition.
  let transactions: readonly Hex[] | undefined;
  if (read.kind === 'receipts') {
    if (read.height !== header.height) return fail('receipts are proven at their own block');
    if (!Array.isArray(final.transactions) || !final.transactions.every((t) => isHex(t, 32)))
      return fail('receipts need the block transaction hashes');
    if (merkleRoot(final.transactions) !== header.txRoot) return fail('transactions do not match the txRoot');
    transactions = final.transactions;
  } else if (final.transactions !== undefined) return fail('transactions belong to receipts reads');
  let derived: Json;
  try {
    derived = evaluateRead(read, new ProvenState(final.entries), {
      genesis,
      height: header.height,
      timestamp: header.timestamp,
      ...(transactions ? { transactions } : {}),
    });
  } catch (e) {
    if (e instanceof UnprovenKeyError) return fail(e.message);
    return fail(`the proven state does not answer the read: ${(e as Error).message}`);
  }
  if (!sameJson(derived, final.value)) return fail('the value is not what the proven state says');
  return { ok: true, read, value: final.value, height: header.height, blockHash: final.blockHash };
}

/** Checks one certified header against the schedule known so far; returns the schedule it proves. */
function checkStep(
  genesis: Genesis,
  step: AuthorityStep,
  known: readonly ScheduledSet[],
  previous: number,
): readonly ScheduledSet[] | string {
  if (typeof step !== 'object' || step === null) return 'authority step is not an object';
  const { header, certificate, schedule } = step;
  if (typeof header !== 'object' || header === null) return 'no header';
  if (header.chainId !== genesis.chainId) return `header is for chain ${header.chainId}`;
  if (!Number.isSafeInteger(header.height) || header.height <= previous)
    return 'certified headers must come in increasing height order';
  if (Object.keys(header).length !== 7) return 'header has unknown fields';
  const signers = setAt(known, header.height);
  const certProblem = certificateProblem(
    certificate,
    header,
    signers.map((a) => a.publicKey),
  );
  if (certProblem) return `header ${header.height}: ${certProblem}`;
  if (Object.keys(certificate).length !== 4) return 'certificate has unknown fields';
  if (schedule?.key !== SCHEDULE_KEY)
    return `header ${header.height}: the authority schedule proof is missing`;
  const proofProblem = stateProofProblem(header.stateRoot, schedule);
  if (proofProblem) return `header ${header.height}: authority schedule: ${proofProblem}`;
  const proven = (schedule.value ?? [
    { fromHeight: 1, authorities: genesis.authorities },
  ]) as unknown as ScheduledSet[];
  if (!Array.isArray(proven)) return 'the authority schedule is not a list';
  // Entries decided by then are history: the header's own schedule must carry them unchanged.
  const settled = known.filter((e) => e.fromHeight <= previous + 2);
  if (!sameJson(proven.slice(0, settled.length), settled))
    return `header ${header.height}: its authority schedule contradicts the one proven before`;
  if (!sameJson(setAt(proven, header.height), signers))
    return `header ${header.height}: an authority change before it is missing from the file`;
  return proven;
}
