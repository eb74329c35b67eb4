/**
 * The roles × actions matrix, every cell asserted: who may do what, on their own side of a
 * contract, on a contract they are not party to, and under a KLE constraint. The expected table is
 * written out here independently of gateway/authorization.ts, so a change there must change this.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACTIONS,
  type Action,
  authorize,
  kleCovers,
  ROLES,
  ServiceAgreements,
} from '../../gateway/authorization.ts';
import type { Caller } from '../../gateway/caller.ts';
import { GatewayError } from '../../gateway/errors.ts';

const MUNICIPALITY = '29189846';
const PROVIDER = '12345678';
const STRANGER = '55555555';

const caller = (cvr: string, role: string, kle?: string[]): Caller => ({
  system: `CVR:${cvr}-UID:test`,
  cvr,
  privileges: [kle ? { role, kle } : { role }],
  via: 'token',
  transactionId: '00000000-0000-4000-8000-000000000000',
});

const contract = { municipality: MUNICIPALITY, provider: PROVIDER, kle: '27.35.04' };

/** Expected: allowed on the caller's own side of a contract (or without one, for create/define). */
const EXPECTED: Record<string, Record<Action, boolean>> = {
  caseworker: {
    'contract.read': true,
    'template.define': false,
    'provider.register': false,
    'contract.create': true,
    'contract.propose': true,
    'contract.approve': false,
    'contract.report': false,
  },
  'centre-chief': {
    'contract.read': true,
    'template.define': false,
    'provider.register': false,
    'contract.create': false,
    'contract.propose': true,
    'contract.approve': true,
    'contract.report': false,
  },
  director: {
    'contract.read': true,
    'template.define': true,
    'provider.register': true,
    'contract.create': false,
    'contract.propose': true,
    'contract.approve': true,
    'contract.report': false,
  },
  'provider-representative': {
    'contract.read': true,
    'template.define': false,
    'provider.register': false,
    'contract.create': false,
    'contract.propose': true,
    'contract.approve': true,
    'contract.report': true,
  },
  auditor: {
    'contract.read': true,
    'template.define': false,
    'provider.register': false,
    'contract.create': false,
    'contract.propose': false,
    'contract.approve': false,
    'contract.report': false,
  },
};

const ON_CONTRACT: ReadonlySet<Action> = new Set([
  'contract.read',
  'contract.propose',
  'contract.approve',
  'contract.report',
]);

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof GatewayError, String(e));
    return e.code;
  }
};

test('every role × action: allowed exactly where the table says, refused with a stable code elsewhere', () => {
  assert.deepEqual(Object.keys(EXPECTED).sort(), [...ROLES].sort());
  let cells = 0;
  for (const role of ROLES) {
    const ownCvr = role === 'provider-representative' ? PROVIDER : MUNICIPALITY;
    for (const action of ACTIONS) {
      const allowed = EXPECTED[role]?.[action];
      const own = caller(ownCvr, role);
      const context = ON_CONTRACT.has(action) ? { contract } : {};
      const code = codeOf(() => authorize(own, action, context));
      assert.equal(code === undefined, allowed, `${role} ${action}: ${code}`);
      if (!allowed) assert.equal(code, 'ROLE_NOT_PERMITTED', `${role} ${action}`);
      cells++;
      if (ON_CONTRACT.has(action)) {
        // Someone else's contract: never, whatever the role.
        const stranger = codeOf(() => authorize(caller(STRANGER, role), action, { contract }));
        assert.ok(stranger !== undefined, `${role} ${action} on a stranger's contract`);
        if (allowed) assert.equal(stranger, 'NOT_PARTY_TO_CONTRACT');
        cells++;
      }
    }
  }
  assert.equal(cells, 5 * 7 + 5 * 4);
});

test('a provider acts on its own contracts only, and never for the municipality side', () => {
  const provider = caller(PROVIDER, 'provider-representative');
  assert.equal(authorize(provider, 'contract.report', { contract }).side, 'provider');
  assert.equal(
    codeOf(() => authorize(provider, 'contract.report', { contract: { ...contract, provider: '87654321' } })),
    'NOT_PARTY_TO_CONTRACT',
  );
  // A municipality caller with only a provider role gets nothing on its own contract.
  assert.equal(
    codeOf(() =>
      authorize(caller(MUNICIPALITY, 'provider-representative'), 'contract.approve', { contract }),
    ),
    'ROLE_NOT_PERMITTED',
  );
  // A provider caller holding a municipal role cannot use it on a contract where it is the provider.
  assert.equal(
    codeOf(() => authorize(caller(PROVIDER, 'director'), 'contract.approve', { contract })),
    'ROLE_NOT_PERMITTED',
  );
});

test('KLE constraints: enforced where the contract (or the draft) carries a subject', () => {
  assert.ok(kleCovers('27.*', '27.35.04'));
  assert.ok(kleCovers('27.35.*', '27.35.04'));
  assert.ok(kleCovers('27.35.04', '27.35.04'));
  assert.ok(kleCovers('*', '32.01.00'));
  assert.ok(!kleCovers('27.*', '28.35.04'));
  assert.ok(!kleCovers('27.3*', '27.35.04'), 'only whole groups are wildcards');
  assert.ok(!kleCovers('27.35.05', '27.35.04'));
  const inside = caller(MUNICIPALITY, 'caseworker', ['27.*']);
  const outside = caller(MUNICIPALITY, 'caseworker', ['32.*']);
  assert.equal(authorize(inside, 'contract.propose', { contract }).role, 'caseworker');
  assert.equal(
    codeOf(() => authorize(outside, 'contract.propose', { contract })),
    'KLE_NOT_PERMITTED',
  );
  assert.equal(
    codeOf(() => authorize(outside, 'contract.read', { contract })),
    'KLE_NOT_PERMITTED',
  );
  assert.equal(
    codeOf(() => authorize(outside, 'contract.create', { kle: '27.35.04' })),
    'KLE_NOT_PERMITTED',
  );
  // No subject on the contract: the constraint has nothing to restrict.
  assert.equal(
    authorize(outside, 'contract.propose', { contract: { ...contract, kle: undefined } }).role,
    'caseworker',
  );
  // Two privileges: the unconstrained one is used where the constrained one does not reach.
  const both: Caller = {
    ...outside,
    privileges: [{ role: 'caseworker', kle: ['32.*'] }, { role: 'director' }],
  };
  assert.equal(authorize(both, 'contract.propose', { contract }).role, 'director');
});

test('a named role must be one the caller holds; without one, the preferred role is used', () => {
  const chiefAndDirector: Caller = {
    ...caller(MUNICIPALITY, 'centre-chief'),
    privileges: [{ role: 'centre-chief' }, { role: 'director' }],
  };
  // Issue 10: an approval without a role no longer counts as director (the most senior role).
  assert.equal(
    codeOf(() => authorize(chiefAndDirector, 'contract.approve', { contract })),
    'ROLE_REQUIRED',
  );
  assert.equal(
    authorize(chiefAndDirector, 'contract.approve', { contract, role: 'director' }).role,
    'director',
  );
  // With one role that may approve there is nothing to choose.
  assert.equal(
    authorize(caller(MUNICIPALITY, 'centre-chief'), 'contract.approve', { contract }).role,
    'centre-chief',
  );
  // A proposal (whose proposer's approval counts too) defaults to the least senior role.
  assert.equal(authorize(chiefAndDirector, 'contract.propose', { contract }).role, 'centre-chief');
  assert.equal(
    authorize(chiefAndDirector, 'contract.approve', { contract, role: 'centre-chief' }).role,
    'centre-chief',
  );
  assert.equal(
    codeOf(() => authorize(chiefAndDirector, 'contract.approve', { contract, role: 'caseworker' })),
    'ROLE_NOT_PERMITTED',
  );
  assert.equal(
    codeOf(() => authorize(caller(MUNICIPALITY, 'unknown-role'), 'contract.read')),
    'ROLE_NOT_PERMITTED',
  );
});

test('service agreements: system × service × CVR, and only CVRs the gateway serves', () => {
  const agreements = new ServiceAgreements({
    agreements: [{ system: 'sys-a', service: 'contracts', cvr: MUNICIPALITY }],
    municipalities: [{ cvr: MUNICIPALITY, nodes: ['http://127.0.0.1:1'] }],
    providers: [PROVIDER],
  });
  agreements.check({ system: 'sys-a', cvr: MUNICIPALITY }, 'contracts');
  const code = (system: string, cvr: string, service: 'contracts' | 'reports') =>
    codeOf(() => agreements.check({ system, cvr }, service));
  assert.equal(code('sys-a', MUNICIPALITY, 'reports'), 'NO_SERVICE_AGREEMENT');
  assert.equal(code('sys-b', MUNICIPALITY, 'contracts'), 'NO_SERVICE_AGREEMENT');
  assert.equal(code('sys-a', PROVIDER, 'contracts'), 'NO_SERVICE_AGREEMENT');
  assert.equal(code('sys-a', STRANGER, 'contracts'), 'CVR_NOT_SERVED');
});
