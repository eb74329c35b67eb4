import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isTillidError } from '../../../../node/protocol/errors.ts';
import {
  type Approval,
  type ApprovalPolicy,
  type AtLeastPolicy,
  allOf,
  anyOf,
  atLeastOf,
  bothParties,
  decodePolicy,
  describe,
  evaluate,
  kOf,
  MAX_POLICY_DEPTH,
  MAX_POLICY_NODES,
  oneDirectorOrTwoCentreChiefs,
  type Party,
  ROLES_OF_PARTY,
  type Role,
} from '../../../../node/state/contracts/policy.ts';

const m = (actor: string, role: Role): Approval => ({ actor, party: 'municipality', role });
const provider = (actor: string): Approval => ({ actor, party: 'provider', role: 'provider-representative' });

const TYPES = (Object.keys(ROLES_OF_PARTY) as Party[]).flatMap((party) =>
  ROLES_OF_PARTY[party].map((role) => ({ party, role })),
);

/** The error a hostile policy is refused with: code and the path it names. */
function refusal(input: unknown): { code: string; path: unknown } {
  try {
    decodePolicy(input);
  } catch (e) {
    if (!isTillidError(e)) throw e;
    return { code: e.code, path: e.details?.path };
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

test('municipality and provider both: neither alone is enough', () => {
  const policy = bothParties();
  assert.equal(describe(policy), '1 caseworker (municipality) and 1 provider-representative (provider)');
  assert.equal(evaluate(policy, [m('cw', 'caseworker')]).satisfied, false);
  assert.equal(evaluate(policy, [m('cw', 'caseworker')]).missing, '1 provider-representative (provider)');
  assert.equal(evaluate(policy, [provider('care-home')]).missing, '1 caseworker (municipality)');
  assert.deepEqual(evaluate(policy, [provider('care-home'), m('cw', 'caseworker')]), {
    satisfied: true,
    missing: '',
    remaining: null,
  });
  assert.equal(evaluate(bothParties('director'), [m('cw', 'caseworker'), provider('p')]).satisfied, false);
});

test('1 director or 2 centre chiefs', () => {
  const policy = oneDirectorOrTwoCentreChiefs();
  assert.equal(describe(policy), '1 director or 2 centre-chiefs (municipality)');
  assert.equal(evaluate(policy, []).missing, '1 director or 2 centre-chiefs (municipality)');
  assert.equal(evaluate(policy, [m('d', 'director')]).satisfied, true);
  const one = evaluate(policy, [m('c1', 'centre-chief')]);
  assert.equal(one.satisfied, false);
  assert.equal(one.missing, '1 centre-chief or 1 director (municipality)');
  assert.equal(evaluate(policy, [m('c1', 'centre-chief'), m('c2', 'centre-chief')]).satisfied, true);
  // A caseworker, or a provider calling itself a director, is no director.
  assert.equal(evaluate(policy, [m('c1', 'centre-chief'), m('cw', 'caseworker')]).satisfied, false);
  const fake = { actor: 'x', party: 'provider', role: 'director' } as unknown as Approval;
  assert.equal(evaluate(policy, [fake]).satisfied, false);
});

test('3 of 5: k distinct actors in one role, and k of five named requirements', () => {
  const threeChiefs = kOf(3, 'centre-chief', 'municipality');
  assert.equal(describe(threeChiefs), '3 centre-chiefs (municipality)');
  const chiefs = ['a', 'b', 'c', 'd', 'e'].map((id) => m(id, 'centre-chief'));
  assert.equal(evaluate(threeChiefs, chiefs.slice(0, 2)).missing, '1 centre-chief (municipality)');
  assert.equal(evaluate(threeChiefs, chiefs.slice(0, 3)).satisfied, true);
  assert.equal(evaluate(threeChiefs, chiefs).satisfied, true);

  const board = atLeastOf(
    3,
    kOf(1, 'caseworker', 'municipality'),
    kOf(1, 'centre-chief', 'municipality'),
    kOf(1, 'director', 'municipality'),
    kOf(1, 'provider-representative', 'provider'),
    kOf(2, 'caseworker', 'municipality'),
  );
  assert.equal(
    describe(board),
    'at least 3 of (1 caseworker (municipality), 1 centre-chief (municipality), 1 director (municipality), ' +
      '1 provider-representative (provider), 2 caseworkers (municipality))',
  );
  assert.equal(evaluate(board, [m('d', 'director'), provider('p')]).satisfied, false);
  assert.equal(evaluate(board, [m('d', 'director'), provider('p'), m('c', 'centre-chief')]).satisfied, true);
  // Two caseworkers meet "1 caseworker" and nothing else: the same two cannot also be "2 caseworkers".
  assert.equal(
    evaluate(board, [m('d', 'director'), m('w1', 'caseworker'), m('w2', 'caseworker')]).satisfied,
    false,
  );
  assert.equal(
    evaluate(board, [m('d', 'director'), m('w1', 'caseworker'), m('w2', 'caseworker'), m('w3', 'caseworker')])
      .satisfied,
    true,
  );
});

test('an actor counts once: no double counting across the leaves of an all', () => {
  const chiefAndDirector = allOf(kOf(1, 'centre-chief', 'municipality'), kOf(1, 'director', 'municipality'));
  // One person approving in two roles fills only one place.
  const sameActor = [m('x', 'centre-chief'), m('x', 'director')];
  const result = evaluate(chiefAndDirector, sameActor);
  assert.equal(result.satisfied, false);
  // One cheapest completion (see README: an actor in two roles makes several equally cheap ones).
  assert.equal(result.missing, '1 director (municipality)');
  assert.equal(evaluate(chiefAndDirector, [...sameActor, m('y', 'director')]).satisfied, true);
  assert.equal(evaluate(chiefAndDirector, [...sameActor, m('y', 'centre-chief')]).satisfied, true);

  // Two equal leaves mean two different people.
  const twoLeaves = allOf(kOf(1, 'caseworker', 'municipality'), kOf(1, 'caseworker', 'municipality'));
  assert.equal(evaluate(twoLeaves, [m('a', 'caseworker')]).satisfied, false);
  assert.equal(evaluate(twoLeaves, [m('a', 'caseworker'), m('b', 'caseworker')]).satisfied, true);

  // The flexible actor must go where only it fits: x (chief or director) and y (director only).
  const wider = allOf(chiefAndDirector, kOf(1, 'director', 'municipality'));
  assert.equal(evaluate(wider, [...sameActor, m('y', 'director')]).satisfied, false);
  assert.equal(evaluate(wider, [...sameActor, m('y', 'director'), m('z', 'director')]).satisfied, true);

  // "(1 director or 2 centre chiefs) and the provider": the director's approval is not the provider's.
  const activation = allOf(oneDirectorOrTwoCentreChiefs(), bothParties());
  assert.equal(
    describe(activation),
    '(1 director or 2 centre-chiefs (municipality)) and (1 caseworker (municipality) and ' +
      '1 provider-representative (provider))',
  );
  const partial = evaluate(activation, [m('d', 'director'), m('d', 'caseworker')]);
  assert.equal(
    partial.missing,
    '(1 director or 2 centre-chiefs (municipality)) and 1 provider-representative (provider)',
  );
  assert.equal(
    evaluate(activation, [m('d', 'director'), m('w', 'caseworker'), provider('p')]).satisfied,
    true,
  );
});

test('duplicates of one approval count once', () => {
  const two = kOf(2, 'centre-chief', 'municipality');
  const same = m('c1', 'centre-chief');
  assert.equal(evaluate(two, [same, same, { ...same }]).satisfied, false);
  assert.equal(evaluate(two, [same, same, { ...same }]).missing, '1 centre-chief (municipality)');
  assert.equal(evaluate(two, [same, same, m('c2', 'centre-chief')]).satisfied, true);
});

test('remaining is a policy whose satisfaction by new actors completes the original', () => {
  const policy = allOf(oneDirectorOrTwoCentreChiefs(), bothParties());
  const given = [m('c1', 'centre-chief')];
  const { remaining } = evaluate(policy, given);
  assert.ok(remaining);
  assert.deepEqual(decodePolicy(remaining), remaining);
  assert.equal(evaluate(policy, [...given, m('c2', 'centre-chief')]).satisfied, false);
  assert.equal(
    evaluate(policy, [...given, m('c2', 'centre-chief'), m('w', 'caseworker'), provider('p')]).satisfied,
    true,
  );
});

test('describe and missing are deterministic and ignore key and approval order', () => {
  const a = decodePolicy({
    any: [
      { role: 'director', party: 'municipality', signers: 1 },
      { all: [kOf(1, 'caseworker', 'municipality'), kOf(1, 'provider-representative', 'provider')] },
    ],
  });
  const b = decodePolicy(JSON.parse(JSON.stringify(a)));
  assert.equal(describe(a), describe(b));
  assert.equal(
    describe(a),
    '1 director (municipality) or (1 caseworker (municipality) and 1 provider-representative (provider))',
  );
  const approvals = [m('w', 'caseworker'), m('c', 'centre-chief')];
  assert.deepEqual(evaluate(a, approvals), evaluate(b, [...approvals].reverse()));
  assert.equal(
    evaluate(a, approvals).missing,
    '1 director (municipality) or 1 provider-representative (provider)',
  );
  // Wrapping in a one-element all/any changes nothing a reader sees.
  assert.equal(describe(anyOf(allOf(a))), describe(a));
});

test('decodePolicy refuses malformed policies and names the path of the first problem', () => {
  const leaf = { signers: 1, party: 'municipality', role: 'director' };
  const cases: [unknown, string][] = [
    [null, 'policy'],
    [[leaf], 'policy'],
    ['1 director', 'policy'],
    [{}, 'policy'],
    [{ all: [leaf], any: [leaf] }, 'policy'],
    [{ ...leaf, note: 'x' }, 'policy.note'],
    [{ ...leaf, zeta: 1, alpha: 2 }, 'policy.alpha'],
    [{ ...leaf, signers: 0 }, 'policy.signers'],
    [{ ...leaf, signers: 1.5 }, 'policy.signers'],
    [{ ...leaf, signers: '1' }, 'policy.signers'],
    [{ ...leaf, signers: 17 }, 'policy.signers'],
    [{ ...leaf, party: 'region' }, 'policy.party'],
    [{ ...leaf, role: 'mayor' }, 'policy.role'],
    [{ ...leaf, party: 'provider' }, 'policy.role'],
    [{ signers: 1, party: 'municipality', role: 'provider-representative' }, 'policy.role'],
    [{ all: [] }, 'policy.all'],
    [{ any: {} }, 'policy.any'],
    [
      { any: [leaf, { all: [leaf, { signers: -1, party: 'municipality', role: 'director' }] }] },
      'policy.any[1].all[1].signers',
    ],
    [{ atLeast: 2, of: [leaf] }, 'policy.atLeast'],
    [{ atLeast: 0, of: [leaf] }, 'policy.atLeast'],
    [{ atLeast: 1 }, 'policy.of'],
    [{ of: [leaf] }, 'policy'],
    [{ all: Array.from({ length: MAX_POLICY_NODES }, () => leaf) }, 'policy.all'],
    [
      JSON.parse('{"__proto__": 1, "signers": 1, "party": "municipality", "role": "director"}'),
      'policy.__proto__',
    ],
  ];
  for (const [input, path] of cases) {
    assert.deepEqual(refusal(input), { code: 'TX_PAYLOAD_INVALID', path }, JSON.stringify(input));
  }
  let deep: unknown = leaf;
  for (let i = 0; i < MAX_POLICY_DEPTH; i++) deep = { all: [deep] };
  assert.equal(refusal(deep).path, `policy${'.all[0]'.repeat(MAX_POLICY_DEPTH)}`);
  // 31 nodes but more alternatives than an evaluation should have to weigh.
  const wide = {
    atLeast: 5,
    of: Array.from({ length: 10 }, (_, i) => ({
      any: [
        { signers: 1 + (i % 3), ...TYPES[i % 4] },
        { signers: 1 + (i % 5), ...TYPES[(i + 1) % 4] },
      ],
    })),
  };
  assert.equal(refusal(wide).code, 'TX_PAYLOAD_INVALID');
  // The largest policies still allowed are accepted.
  let depthOk: unknown = leaf;
  for (let i = 1; i < MAX_POLICY_DEPTH; i++) depthOk = { any: [depthOk] };
  decodePolicy(depthOk);
  decodePolicy({ all: Array.from({ length: MAX_POLICY_NODES - 1 }, () => leaf) });
  assert.throws(() => kOf(0, 'director', 'municipality'), { code: 'TX_PAYLOAD_INVALID' });
});

test('decoding returns a fresh policy that survives a JSON round trip', () => {
  const input = {
    atLeast: 1,
    of: [
      Object.assign(Object.create(null), { signers: 2, party: 'provider', role: 'provider-representative' }),
    ],
  };
  const policy = decodePolicy(input);
  assert.deepEqual(JSON.parse(JSON.stringify(policy)), {
    atLeast: 1,
    of: [{ signers: 2, party: 'provider', role: 'provider-representative' }],
  });
  assert.notEqual((policy as AtLeastPolicy).of[0], input.of[0]);
});

// ---------------------------------------------------------------------------------------------
// Properties

const arbLeaf = fc
  .record({ type: fc.constantFrom(...TYPES), signers: fc.integer({ min: 1, max: 3 }) })
  .map(({ type, signers }): ApprovalPolicy => ({ signers, ...type }));

const arbPolicy: fc.Arbitrary<ApprovalPolicy> = fc
  .letrec<{ node: ApprovalPolicy }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      arbLeaf,
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
      fc
        .array(tie('node'), { minLength: 1, maxLength: 4 })
        .chain((of) => fc.integer({ min: 1, max: of.length }).map((atLeast) => ({ atLeast, of }))),
    ),
  }))
  .node.filter((p) => {
    try {
      decodePolicy(p);
      return true;
    } catch {
      return false;
    }
  });

const arbApproval = fc
  .record({ actor: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), type: fc.constantFrom(...TYPES) })
  .map(({ actor, type }): Approval => ({ actor, ...type }));
const arbApprovals = fc.array(arbApproval, { maxLength: 10 });

/** The definition, by brute force: some satisfying choice of leaves can be staffed by distinct actors. */
function bruteForce(policy: ApprovalPolicy, approvals: readonly Approval[]): boolean {
  const choices = (p: ApprovalPolicy): ApprovalPolicy[][] => {
    if ('signers' in p) return [[p]];
    if ('any' in p) return p.any.flatMap(choices);
    const children = 'all' in p ? p.all : p.of;
    const k = 'all' in p ? children.length : p.atLeast;
    const out: ApprovalPolicy[][] = [];
    const pick = (from: number, left: number, acc: ApprovalPolicy[]) => {
      if (left === 0) {
        out.push(acc);
        return;
      }
      for (let i = from; i < children.length; i++) {
        for (const c of choices(children[i] as ApprovalPolicy)) pick(i + 1, left - 1, [...acc, ...c]);
      }
    };
    pick(0, k, []);
    return out;
  };
  const staffable = (leaves: ApprovalPolicy[]) => {
    const places = leaves.flatMap((l) => {
      const leaf = l as { signers: number; party: Party; role: Role };
      return Array.from({ length: leaf.signers }, () => leaf);
    });
    const fill = (i: number, used: Set<string>): boolean => {
      const place = places[i];
      if (place === undefined) return true;
      const candidates = new Set(
        approvals.filter((a) => a.party === place.party && a.role === place.role).map((a) => a.actor),
      );
      for (const actor of candidates) {
        if (used.has(actor)) continue;
        if (fill(i + 1, new Set([...used, actor]))) return true;
      }
      return false;
    };
    return fill(0, new Set());
  };
  return choices(policy).some(staffable);
}

test('decodePolicy throws nothing but TillidError on arbitrary JSON', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), arbPolicy, fc.anything()), (input) => {
      try {
        const policy = decodePolicy(input);
        assert.deepEqual(decodePolicy(JSON.parse(JSON.stringify(policy))), policy);
      } catch (e) {
        assert.ok(isTillidError(e), String(e));
        assert.equal(e.code, 'TX_PAYLOAD_INVALID');
      }
    }),
    { numRuns: 2000 },
  );
});

test('evaluate agrees with the brute-force definition', () => {
  fc.assert(
    fc.property(arbPolicy, arbApprovals, (policy, approvals) => {
      const result = evaluate(policy, approvals);
      assert.equal(result.satisfied, bruteForce(policy, approvals));
      assert.equal(result.missing === '', result.satisfied);
    }),
    { numRuns: 1000 },
  );
});

test('evaluate is monotone and independent of approval order', () => {
  fc.assert(
    fc.property(arbPolicy, arbApprovals, arbApproval, fc.nat(), (policy, approvals, extra, at) => {
      const before = evaluate(policy, approvals);
      const i = at % (approvals.length + 1);
      const after = evaluate(policy, [...approvals.slice(0, i), extra, ...approvals.slice(i)]);
      if (before.satisfied) assert.equal(after.satisfied, true);
      assert.deepEqual(evaluate(policy, [...approvals].reverse()), before);
      // Rotations too, so every approval gets to come first.
      const k = at % Math.max(approvals.length, 1);
      assert.deepEqual(evaluate(policy, [...approvals.slice(k), ...approvals.slice(0, k)]), before);
    }),
    { numRuns: 1000 },
  );
});

test('what remaining asks for, supplied by new actors, satisfies the policy', () => {
  fc.assert(
    fc.property(arbPolicy, arbApprovals, (policy, approvals) => {
      const { remaining } = evaluate(policy, approvals);
      if (remaining === null) return;
      // Staff the first alternative of `remaining` with fresh actors.
      const fresh: Approval[] = [];
      const staff = (p: ApprovalPolicy) => {
        if ('signers' in p) {
          for (let n = 0; n < p.signers; n++)
            fresh.push({ actor: `new-${fresh.length}`, party: p.party, role: p.role });
        } else if ('all' in p) p.all.forEach(staff);
        else if ('any' in p) staff(p.any[0] as ApprovalPolicy);
        else p.of.slice(0, p.atLeast).forEach(staff);
      };
      staff(remaining);
      assert.equal(evaluate(policy, [...approvals, ...fresh]).satisfied, true);
      assert.equal(evaluate(remaining, fresh).satisfied, true);
    }),
    { numRuns: 500 },
  );
});
