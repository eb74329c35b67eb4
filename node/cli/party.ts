/**
 * `tillid party register|add-key|revoke-key`: the organisations that act on contracts and their
 * signing keys. A municipality is registered by an authority's key; a provider by an admin key of
 * the municipality registering it.
 */
import type { KeyGrant, Role } from '../../client/payloads.ts';
import { parse, required, UsageError } from './args.ts';
import { signingFlags, signingSession, submitAndPrint } from './submit.ts';

/** `<publicKey>:<role,role>[:admin]` */
export function parseGrant(text: string): KeyGrant {
  const [publicKey, roles, admin, ...rest] = text.split(':');
  if (!publicKey || roles === undefined || rest.length > 0 || (admin !== undefined && admin !== 'admin'))
    throw new UsageError(`--grant ${text}: expected <publicKey>:<role,...>[:admin]`);
  return {
    publicKey,
    roles: roles === '' ? [] : (roles.split(',') as Role[]),
    ...(admin ? { admin: true } : {}),
  };
}

export async function partyRegister(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signingFlags,
    cvr: { type: 'string' },
    kind: { type: 'string' },
    grant: { type: 'string', multiple: true },
  });
  const kind = required(v.kind, 'kind');
  if (kind !== 'municipality' && kind !== 'provider')
    throw new UsageError('--kind is municipality or provider');
  const grants = required(v.grant, 'grant').map(parseGrant);
  const session = await signingSession(v);
  await submitAndPrint(
    session,
    session.build.party.register(session.signer(), { cvr: required(v.cvr, 'cvr'), kind, keys: grants }),
    v.wait,
  );
}

export async function partyAddKey(args: string[]): Promise<void> {
  const v = parse(args, { ...signingFlags, cvr: { type: 'string' }, grant: { type: 'string' } });
  const key = parseGrant(required(v.grant, 'grant'));
  const session = await signingSession(v);
  await submitAndPrint(
    session,
    session.build.party.addKey(session.signer(), { cvr: required(v.cvr, 'cvr'), key }),
    v.wait,
  );
}

export async function partyRevokeKey(args: string[]): Promise<void> {
  const v = parse(args, { ...signingFlags, cvr: { type: 'string' }, 'public-key': { type: 'string' } });
  const session = await signingSession(v);
  await submitAndPrint(
    session,
    session.build.party.revokeKey(session.signer(), {
      cvr: required(v.cvr, 'cvr'),
      publicKey: required(v['public-key'], 'public-key'),
    }),
    v.wait,
  );
}
