/**
 * Who may do what. Three checks, in this order, each with its own stable code:
 *  1. service agreements (as the service platform's): may this system call this gateway service
 *     for this CVR? → NO_SERVICE_AGREEMENT;
 *  2. privileges → chain actions: the caseworker drafts and proposes; centre chiefs and directors
 *     approve (the contract's approval policy on chain decides whether enough have); the provider
 *     co-signs and reports on its own contracts only; the auditor reads → ROLE_NOT_PERMITTED,
 *     NOT_PARTY_TO_CONTRACT; an approval by a caller who could approve in several roles must name
 *     one → ROLE_REQUIRED;
 *  3. the KLE constraint of the privilege, where the contract carries a KLE subject
 *     → KLE_NOT_PERMITTED.
 * The chain checks again (a key's roles, the party on the contract, the policy); the gateway's
 * check is what keeps a wrong call from being signed and submitted at all.
 */
import type { Caller, Privilege } from './caller.ts';
import type { GatewayConfig, Service } from './config.ts';
import { GatewayError } from './errors.ts';

export const ROLES = [
  'caseworker',
  'centre-chief',
  'director',
  'provider-representative',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  'contract.read',
  'template.define',
  'provider.register',
  'contract.create',
  'contract.propose',
  'contract.approve',
  'contract.report',
] as const;
export type Action = (typeof ACTIONS)[number];

/** The permission table. Changing it changes who can do what: the test matrix pins every cell. */
export const PERMISSIONS: Readonly<Record<Role, readonly Action[]>> = {
  caseworker: ['contract.read', 'contract.create', 'contract.propose'],
  'centre-chief': ['contract.read', 'contract.propose', 'contract.approve'],
  director: ['contract.read', 'contract.propose', 'contract.approve', 'template.define', 'provider.register'],
  'provider-representative': ['contract.read', 'contract.propose', 'contract.approve', 'contract.report'],
  auditor: ['contract.read'],
};

/** Which side of a contract a role acts for; the auditor reads for whichever side it belongs to. */
export const SIDE_OF_ROLE: Readonly<Record<Role, 'municipality' | 'provider' | 'either'>> = {
  caseworker: 'municipality',
  'centre-chief': 'municipality',
  director: 'municipality',
  'provider-representative': 'provider',
  auditor: 'either',
};

/** When a caller holds several roles that allow an action, the one used unless the call names one. */
const PREFERENCE: Readonly<Record<Action, readonly Role[]>> = {
  'contract.read': ['auditor', 'caseworker', 'centre-chief', 'director', 'provider-representative'],
  'template.define': ['director'],
  'provider.register': ['director'],
  'contract.create': ['caseworker', 'centre-chief', 'director'],
  'contract.propose': ['caseworker', 'provider-representative', 'centre-chief', 'director'],
  'contract.approve': ['director', 'centre-chief', 'provider-representative'],
  'contract.report': ['provider-representative'],
};

/** The contract facts authorisation needs, as the node's read model reports them. */
export interface ContractFacts {
  readonly municipality: string;
  readonly provider: string;
  readonly kle?: string;
}

export interface Decision {
  readonly role: Role;
  readonly side: 'municipality' | 'provider';
}

/** `27.*` covers `27.35.04`; `27.35.*` covers `27.35.04`; `*` covers everything; else exact. */
export function kleCovers(pattern: string, kle: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return kle.startsWith(pattern.slice(0, -1));
  return pattern === kle;
}

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

/**
 * Decides whether `caller` may perform `action`, optionally on `contract` (or, for a new contract,
 * under `kle`), and in which role. Throws a GatewayError with the code of the first check failed.
 */
export function authorize(
  caller: Caller,
  action: Action,
  o: { contract?: ContractFacts; kle?: string; role?: string } = {},
): Decision {
  const holding = caller.privileges.filter(
    (p): p is Privilege & { role: Role } => isRole(p.role) && PERMISSIONS[p.role].includes(action),
  );
  let candidates = o.role === undefined ? holding : holding.filter((p) => p.role === o.role);
  if (candidates.length === 0) {
    const what = o.role === undefined ? '' : ` as ${o.role}`;
    throw new GatewayError('ROLE_NOT_PERMITTED', `the caller's privileges do not allow ${action}${what}`, {
      action,
    });
  }
  const sideOf = (role: Role): 'municipality' | 'provider' | undefined => {
    const side = SIDE_OF_ROLE[role];
    if (!o.contract) return side === 'provider' ? 'provider' : 'municipality';
    const mine =
      caller.cvr === o.contract.municipality
        ? 'municipality'
        : caller.cvr === o.contract.provider
          ? 'provider'
          : undefined;
    return side === 'either' || side === mine ? mine : undefined;
  };
  if (o.contract) {
    if (caller.cvr !== o.contract.municipality && caller.cvr !== o.contract.provider) {
      throw new GatewayError('NOT_PARTY_TO_CONTRACT', 'the caller is not a party to this contract');
    }
    candidates = candidates.filter((p) => sideOf(p.role) !== undefined);
    if (candidates.length === 0)
      throw new GatewayError(
        'ROLE_NOT_PERMITTED',
        `no privilege allows ${action} for this side of the contract`,
        {
          action,
        },
      );
  } else if (action === 'contract.create' || action === 'template.define' || action === 'provider.register') {
    candidates = candidates.filter((p) => SIDE_OF_ROLE[p.role] === 'municipality');
  }
  const kle = o.contract?.kle ?? o.kle;
  if (kle !== undefined) {
    candidates = candidates.filter(
      (p) => p.kle === undefined || p.kle.some((pattern) => kleCovers(pattern, kle)),
    );
    if (candidates.length === 0)
      throw new GatewayError('KLE_NOT_PERMITTED', `the caller's privileges do not cover KLE subject ${kle}`, {
        kle,
      });
  }
  const roles = new Set(candidates.map((p) => p.role));
  // An approval counts in the role it names on chain, and the roles weigh differently in a policy
  // (a director's approval can satisfy what needs two centre chiefs). So the gateway never picks
  // among several for the caller: the call must say which.
  if (action === 'contract.approve' && o.role === undefined && roles.size > 1)
    throw new GatewayError(
      'ROLE_REQUIRED',
      `the caller may approve as ${[...roles].sort().join(' or ')}: name the role to approve in`,
      { action, roles: [...roles].sort() },
    );
  const role = PREFERENCE[action].find((r) => roles.has(r)) as Role;
  return { role, side: sideOf(role) as 'municipality' | 'provider' };
}

/** The configured service agreements, indexed. */
export class ServiceAgreements {
  readonly #allowed: Set<string>;
  readonly #served: Set<string>;
  constructor(config: Pick<GatewayConfig, 'agreements' | 'municipalities' | 'providers'>) {
    this.#allowed = new Set(config.agreements.map((a) => `${a.system}\n${a.service}\n${a.cvr}`));
    this.#served = new Set([...config.municipalities.map((m) => m.cvr), ...config.providers]);
  }
  /** Throws unless the caller's CVR is served here and its system has an agreement for `service`. */
  check(caller: Pick<Caller, 'system' | 'cvr'>, service: Service): void {
    if (!this.#served.has(caller.cvr))
      throw new GatewayError('CVR_NOT_SERVED', `this gateway does not act for CVR ${caller.cvr}`);
    if (!this.#allowed.has(`${caller.system}\n${service}\n${caller.cvr}`)) {
      throw new GatewayError(
        'NO_SERVICE_AGREEMENT',
        `no service agreement lets system ${caller.system} use ${service} for CVR ${caller.cvr}`,
        { service },
      );
    }
  }
}
