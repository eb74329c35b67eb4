/**
 * Approval policies (policy.ts) in words, for people: the read models show them, and an unmet
 * policy's `missing` says what is still needed. Kept apart from evaluation because it serves
 * reading, not deciding; like everything about policies it is a pure function of the policy, so
 * the same policy reads the same on every node.
 */
import type { Party } from '../../schemas/roles.ts';
import type { ApprovalPolicy } from './policy-types.ts';

const partyOfAll = (p: ApprovalPolicy): Party | null | undefined => {
  // undefined: no leaves seen yet; null: leaves of both parties.
  if ('signers' in p) return p.party;
  const children = 'all' in p ? p.all : 'any' in p ? p.any : p.of;
  let party: Party | null | undefined;
  for (const c of children) {
    const q = partyOfAll(c);
    if (q === null || (party !== undefined && q !== party)) return null;
    party = q;
  }
  return party;
};

/**
 * One line, deterministic, e.g. "1 director or 2 centre-chiefs (municipality)" or
 * "1 caseworker (municipality) and 1 provider-representative (provider)". When every leaf under a
 * part belongs to one party the party is named once after it. Nested parts are parenthesised.
 */
export function describe(policy: ApprovalPolicy): string {
  return render(policy, false).text;
}

function render(p: ApprovalPolicy, partyShown: boolean): { text: string; atomic: boolean } {
  if ('signers' in p) {
    const role = p.signers === 1 ? p.role : `${p.role}s`;
    return { text: `${p.signers} ${role}${partyShown ? '' : ` (${p.party})`}`, atomic: true };
  }
  const children = 'all' in p ? p.all : 'any' in p ? p.any : p.of;
  if (children.length === 1 && !('atLeast' in p)) return render(children[0] as ApprovalPolicy, partyShown);
  const party = partyShown ? null : partyOfAll(p);
  const inner = children.map((c) => {
    const r = render(c, partyShown || typeof party === 'string');
    return r.atomic ? r.text : `(${r.text})`;
  });
  const body =
    'all' in p
      ? inner.join(' and ')
      : 'any' in p
        ? inner.join(' or ')
        : `at least ${p.atLeast} of (${inner.join(', ')})`;
  return { text: typeof party === 'string' ? `${body} (${party})` : body, atomic: false };
}
