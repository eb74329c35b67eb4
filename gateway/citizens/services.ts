/**
 * What a citizen may see, resolved per request: the case system says which cases are theirs (and
 * their children's, by custody) — the gateway turns the case numbers into the case references the
 * chain carries and reads the municipality's contracts under them. Nothing here is kept: no CPR
 * number, no case number, no name.
 */
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { caseReference } from '../console/case-ref.ts';
import type { ConsoleComponents } from '../console/kit.ts';
import type { ContractSummary, ContractView } from '../console/pages/views.ts';
import { GatewayError } from '../errors.ts';
import type { CaseSubject, CaseSystem } from './case-system.ts';

/** The session's only content: the case system's opaque handle. */
export interface Citizen {
  readonly handle: string;
}

export interface CitizenCaseView {
  readonly ref: string;
  readonly subject: CaseSubject;
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
  const found = await caseSystem.casesOf(citizen.handle);
  if (!found) return undefined;
  const cases: CitizenCaseView[] = [];
  for (const x of found.cases) {
    const ref = caseReference(c.keyStore, found.municipality, x.caseNumber);
    if (!ref) throw new GatewayError('NO_SUBMITTER_KEY', 'no pseudonym secret for the municipality');
    cases.push({ ref, subject: x.subject });
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
