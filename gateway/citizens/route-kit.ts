/**
 * What the citizens' route files share (routes.ts, routes-messages.ts, routes-grants.ts): the
 * session, the citizen's cases now, and form checks. Its own module so the route files depend on it,
 * not on each other.
 */
import { ERROR_DA } from '../console/danish.ts';
import { FormError } from '../console/forms.ts';
import type { ConsoleKit } from '../console/kit.ts';
import type { OidcClient } from '../console/oidc.ts';
import type { Session, Sessions } from '../console/session.ts';
import { GatewayError } from '../errors.ts';
import type { CaseSystem } from './case-system.ts';
import { type Citizen, casesOf } from './services.ts';
import type { CitizenStores } from './stores.ts';

export interface CitizenDeps {
  readonly sessions: Sessions<Citizen>;
  readonly oidc: OidcClient;
  /** The citizen IdP's issuer: with the subject, who holds a grant. */
  readonly issuer: string;
  readonly caseSystem: CaseSystem;
  readonly stores: CitizenStores;
}

/** What the citizens' route files share. */
export type CitizenRouteKit = ReturnType<typeof citizenRouteKit>;

export function citizenRouteKit(k: ConsoleKit, d: CitizenDeps) {
  const { c } = k;
  const { sessions, caseSystem } = d;
  const sessionOf = (request: Parameters<typeof sessions.of>[0]): Session<Citizen> => {
    const s = sessions.of(request);
    if (!s) throw new FormError(ERROR_DA.LOGIN_REQUIRED as string, 401, 'LOGIN_REQUIRED');
    return s;
  };
  const mine = async (s: Session<Citizen>) => {
    const found = await casesOf(c, caseSystem, s.person);
    // The case system no longer knows the handle: nothing to show, and the session is over.
    if (!found) throw new FormError(ERROR_DA.LOGIN_REQUIRED as string, 401, 'LOGIN_REQUIRED');
    return found;
  };
  /** One of the citizen's cases now (theirs or a child's in their custody), or 403 CASE_NOT_YOURS. */
  const oneOf = async (s: Session<Citizen>, ref: string) => {
    const { municipality, cases } = await mine(s);
    const one = cases.find((x) => x.ref === ref);
    if (!one) throw new GatewayError('CASE_NOT_YOURS', 'the case is not among the citizen’s cases');
    return { municipality, one };
  };
  /** A POST from the citizen's own page: the session and its CSRF token. */
  const formOf = (request: Parameters<typeof sessions.of>[0]) => {
    const s = sessionOf(request);
    const form = (request.body ?? {}) as Record<string, unknown>;
    k.checkCsrf(request, s, form._csrf);
    return { s, form };
  };
  return { ...k, d, sessionOf, mine, oneOf, formOf };
}
