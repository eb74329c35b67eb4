/**
 * What the console's routes share: the page answer, the person behind a request (session →
 * caller), the CSRF check, signing an action as that person, and the contract reads with the
 * gateway's authorisation.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { type AccessLog, purposeOf } from '../access-log/log.ts';
import { type Action, authorize, type ContractFacts } from '../authorization.ts';
import type { Caller } from '../caller.ts';
import type { CitizenStores } from '../citizens/stores.ts';
import type { PluginComponents } from '../components.ts';
import type { DocumentService } from '../documents/service.ts';
import { GatewayError } from '../errors.ts';
import { rejection } from '../submission.ts';
import { ERROR_DA } from './danish.ts';
import { type Form, FormError } from './forms.ts';
import type { SafeHtml } from './html.ts';
import type { OidcClient } from './oidc.ts';
import { BASE } from './pages/layout.ts';
import type { ContractSummary, ContractView } from './pages/views.ts';
import { personCaller, type Session, type Sessions, sameSecret } from './session.ts';

export const HEX64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
/** Console routes are public to system authentication: they authenticate the person themselves. */
export const access = { access: { public: true } };

export type ConsoleComponents = PluginComponents & {
  readonly sessions?: Sessions | undefined;
  readonly documents?: DocumentService;
  readonly accessLog?: AccessLog | undefined;
  /** The citizens' messages and grants (gateway/citizens/stores.ts), when there are citizens' pages. */
  readonly citizenStores?: CitizenStores | undefined;
};

export type ConsoleKit = ReturnType<typeof consoleKit>;

export function consoleKit(c: ConsoleComponents, sessions: Sessions, oidc: OidcClient, origin: string) {
  const page = (reply: FastifyReply, status: number, body: SafeHtml) =>
    reply.code(status).type('text/html; charset=utf-8').send(body.value);

  /** The logged-in person as the gateway's caller, set on the request for audit. */
  const callerOf = (request: FastifyRequest, s: Session): Caller => {
    const caller = personCaller(s.person, request.transactionId);
    request.caller = caller;
    return caller;
  };

  const sessionOf = (request: FastifyRequest): Session => {
    const s = sessions.of(request);
    if (!s) throw new FormError(ERROR_DA.LOGIN_REQUIRED as string, 'LOGIN_REQUIRED');
    return s;
  };

  /** A POST from the console's own page in this session: CSRF token, and Origin when the browser sends it. */
  const checkCsrf = (request: FastifyRequest, s: Session<unknown>, token: unknown) => {
    const sentOrigin = request.headers.origin;
    if (
      typeof token !== 'string' ||
      !sameSecret(token, s.csrf) ||
      (sentOrigin !== undefined && sentOrigin !== origin)
    )
      throw new FormError(ERROR_DA.CSRF as string, 'CSRF');
  };
  const formOf = (request: FastifyRequest): { s: Session; form: Form } => {
    const s = sessionOf(request);
    const form = (request.body ?? {}) as Form;
    checkCsrf(request, s, form._csrf);
    return { s, form };
  };

  const act = async (
    request: FastifyRequest,
    s: Session,
    action: Action,
    type: string,
    payload: JsonObject,
    o: { contract?: ContractFacts; kle?: string; role?: string } = {},
  ) => {
    const caller = callerOf(request, s);
    const decision = authorize(caller, action, o);
    const actor = c.submitter.actorOf(caller, s.person.sub);
    request.auditNotes.actor = actor;
    const result = await c.submitter.sign(
      caller.cvr,
      type,
      { ...payload, as: { party: caller.cvr, role: decision.role, actor } },
      true,
    );
    request.auditNotes.chainTransaction = result.hash;
    if (result.outcome?.status === 'rejected') throw rejection(result.outcome);
    if (!result.outcome) throw new GatewayError('FINALITY_TIMEOUT', 'not final in time');
    return result.hash;
  };

  /** A contract read on a case, in the case's access log: the person's organisation and unit, never the person. */
  const logRead = (caller: Caller, s: Session, contract: ContractSummary) => {
    if (!contract.caseRef || !c.accessLog) return;
    c.accessLog.record({
      caseRef: contract.caseRef,
      municipality: contract.municipality,
      cvr: caller.cvr,
      unit: s.person.unit,
      purpose: purposeOf(caller, contract.municipality),
      system: caller.system,
    });
  };
  const contractOf = async (caller: Caller, id: string, s?: Session) => {
    const contract = await c.router.get<ContractView & ContractFacts & JsonObject>(
      caller.cvr,
      `/v1/contracts/${id}`,
    );
    if (!contract) throw new GatewayError('CONTRACT_NOT_FOUND', `no contract ${id}`);
    authorize(caller, 'contract.read', { contract });
    if (s) logRead(caller, s, contract);
    return contract;
  };
  const summariesOf = async (caller: Caller) => {
    authorize(caller, 'contract.read');
    const list = await c.router.get<{ contracts: ContractSummary[] }>(
      caller.cvr,
      `/v1/contracts?party=${caller.cvr}`,
    );
    return list?.contracts ?? [];
  };
  const byId = (list: readonly ContractSummary[]) => new Map(list.map((x) => [x.id, x]));
  /**
   * The contracts the person may read, and how many of `list` their KLE constraints leave out (a
   * privilege limited to KLE ranges covers only contracts with a subject in them: authorization.ts).
   */
  const withinKle = (caller: Caller, list: readonly ContractSummary[]) => {
    const shown = list.filter((x) => {
      try {
        authorize(caller, 'contract.read', { contract: x });
        return true;
      } catch (e) {
        if (e instanceof GatewayError && e.code === 'KLE_NOT_PERMITTED') return false;
        throw e;
      }
    });
    return { shown, outsideKle: list.length - shown.length };
  };
  const backTo = (contract: ContractSummary) =>
    contract.caseRef ? `${BASE}/sager/${contract.caseRef}` : `${BASE}/kontrakter/${contract.id}`;

  return {
    c,
    sessions,
    oidc,
    page,
    callerOf,
    sessionOf,
    checkCsrf,
    formOf,
    act,
    contractOf,
    summariesOf,
    byId,
    withinKle,
    backTo,
  };
}
