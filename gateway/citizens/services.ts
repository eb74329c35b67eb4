/**
 * What a citizen may see, resolved per request: the case system says which cases are theirs (and
 * their children's, by custody) — the gateway turns the case numbers into the case references the
 * chain carries and reads the municipality's contracts under them. Nothing here is kept: no CPR
 * number, no case number, no name.
 */
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { type AccessEntry, leafOf } from '../access-log/log.ts';
import { rootOf } from '../access-log/merkle-proof.ts';
import { caseReference } from '../console/case-ref.ts';
import type { ConsoleComponents } from '../console/kit.ts';
import type { ContractSummary, ContractView } from '../console/pages/views.ts';
import { GatewayError } from '../errors.ts';
import type { CaseSubject, CaseSystem } from './case-system.ts';

/**
 * The session's only content: the case system's opaque handle (absent for a person the case system
 * does not know: an adviser who holds a grant), and the person as a grant's receiver (a hash of the
 * citizen IdP's subject, `grants.ts`).
 */
export interface Citizen {
  readonly handle?: string | undefined;
  readonly grantee: string;
}

export interface CitizenCaseView {
  readonly ref: string;
  readonly subject: CaseSubject;
  /** The case system's number: for a message back to the case system only; never shown, kept or logged. */
  readonly caseNumber: string;
}

export interface CitizenService {
  readonly contract: ContractView;
  readonly providerName?: string | undefined;
}

/** The citizen's cases now, by case reference; an unknown handle (gone from the case system) has none. */
export async function casesOf(
  c: ConsoleComponents,
  caseSystem: CaseSystem,
  citizen: Citizen,
): Promise<{ municipality: string; cases: CitizenCaseView[] } | undefined> {
  if (citizen.handle === undefined) return { municipality: '', cases: [] };
  const found = await caseSystem.casesOf(citizen.handle);
  if (!found) return undefined;
  const cases: CitizenCaseView[] = [];
  for (const x of found.cases) {
    const ref = caseReference(c.keyStore, found.municipality, x.caseNumber);
    if (!ref) throw new GatewayError('NO_SUBMITTER_KEY', 'no pseudonym secret for the municipality');
    cases.push({ ref, subject: x.subject, caseNumber: x.caseNumber });
  }
  return { municipality: found.municipality, cases };
}

/**
 * The services agreed under the given case references: the municipality's contracts carrying one
 * of them, except drafts (a draft is not agreed; the citizen hears of it from the caseworker).
 */
export async function servicesOf(
  c: ConsoleComponents,
  caseSystem: CaseSystem,
  municipality: string,
  refs: ReadonlySet<string>,
): Promise<Map<string, CitizenService[]>> {
  const list = await c.router.get<{ contracts: ContractSummary[] }>(
    municipality,
    `/v1/contracts?party=${municipality}`,
  );
  const mine = (list?.contracts ?? []).filter(
    (x) => x.caseRef !== undefined && refs.has(x.caseRef) && x.status !== 'draft',
  );
  const out = new Map<string, CitizenService[]>([...refs].map((r) => [r, []]));
  for (const summary of mine) {
    const contract = await c.router.get<ContractView & JsonObject>(
      municipality,
      `/v1/contracts/${summary.id}`,
    );
    if (!contract) continue;
    out.get(summary.caseRef as string)?.push({
      contract,
      providerName: await caseSystem.organisationName(contract.provider),
    });
  }
  return out;
}

export interface LogLine {
  readonly entry: AccessEntry;
  readonly organisation?: string | undefined;
  /** Set when the entry's inclusion proof leads to a root anchored on chain as an access log. */
  readonly verified?: { readonly root: string; readonly height: number } | undefined;
}

/**
 * The case's access log as the citizen sees it, each entry checked: its leaf recomputed from the
 * entry, the inclusion proof followed to a root, and that root read back from the chain as an
 * `access-log` anchor. An entry whose proof or anchor does not check shows as not (yet) verified.
 */
export async function accessLogOf(
  c: ConsoleComponents,
  caseSystem: CaseSystem,
  municipality: string,
  caseRef: string,
): Promise<LogLine[]> {
  const anchors = new Map<
    string,
    Promise<{ hash?: string; docType?: string; height?: number } | undefined>
  >();
  const names = new Map<string, Promise<string | undefined>>();
  const out: LogLine[] = [];
  for (const item of c.accessLog?.of(caseRef) ?? []) {
    const { entry, anchored } = item;
    if (!names.has(entry.cvr)) names.set(entry.cvr, caseSystem.organisationName(entry.cvr));
    let verified: LogLine['verified'];
    if (anchored && rootOf(leafOf(entry), anchored.proof) === anchored.root) {
      if (!anchors.has(anchored.root))
        anchors.set(
          anchored.root,
          c.router.get<{ hash?: string; docType?: string; height?: number }>(
            municipality,
            `/v1/anchors/${anchored.root}`,
          ),
        );
      const anchor = await anchors.get(anchored.root);
      if (
        anchor?.hash === anchored.root &&
        anchor.docType === 'access-log' &&
        typeof anchor.height === 'number'
      )
        verified = { root: anchored.root, height: anchor.height };
    }
    out.push({ entry, organisation: await names.get(entry.cvr), verified });
  }
  return out;
}
