/**
 * `tillid authority propose|vote`: membership by vote. An authority proposes adding or removing a
 * municipality; the others vote; the change takes effect two blocks after more than two thirds
 * have voted for it.
 */
import { parse, required, UsageError } from './args.ts';
import { signingFlags, signingSession, submitAndPrint } from './submit.ts';

export async function authorityPropose(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signingFlags,
    action: { type: 'string' },
    name: { type: 'string' },
    cvr: { type: 'string' },
    'public-key': { type: 'string' },
    address: { type: 'string' },
  });
  const action = required(v.action, 'action');
  if (action !== 'add' && action !== 'remove') throw new UsageError('--action is add or remove');
  const payload = {
    action,
    name: required(v.name, 'name'),
    cvr: required(v.cvr, 'cvr'),
    publicKey: required(v['public-key'], 'public-key'),
    ...(v.address ? { address: v.address } : {}),
  } as const;
  const session = await signingSession(v);
  await submitAndPrint(session, session.build.governance.propose(session.signer(), payload), v.wait);
}

export async function authorityVote(args: string[]): Promise<void> {
  const v = parse(args, { ...signingFlags, proposal: { type: 'string' } });
  const proposal = required(v.proposal, 'proposal');
  const session = await signingSession(v);
  await submitAndPrint(session, session.build.governance.vote(session.signer(), { proposal }), v.wait);
}
