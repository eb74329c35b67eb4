/**
 * `tillid authority propose|vote`: membership by vote. An authority proposes adding or removing a
 * municipality; the others vote; the change takes effect two blocks after more than two thirds
 * have voted for it.
 */
import { readKeyFile } from '../keyfile.ts';
import { parse, required, UsageError } from './args.ts';
import { signAndSubmit } from './tx.ts';

const common = {
  key: { type: 'string' },
  api: { type: 'string', default: 'http://127.0.0.1:7101' },
  wait: { type: 'boolean', default: false },
} as const;

export async function authorityPropose(args: string[]): Promise<void> {
  const v = parse(args, {
    ...common,
    action: { type: 'string' },
    name: { type: 'string' },
    cvr: { type: 'string' },
    'public-key': { type: 'string' },
    address: { type: 'string' },
  });
  const action = required(v.action, 'action');
  if (action !== 'add' && action !== 'remove') throw new UsageError('--action is add or remove');
  await signAndSubmit(
    { api: v.api, keyPair: readKeyFile(required(v.key, 'key')), ttlSeconds: 600, wait: v.wait },
    'governance.propose',
    {
      action,
      name: required(v.name, 'name'),
      cvr: required(v.cvr, 'cvr'),
      publicKey: required(v['public-key'], 'public-key'),
      ...(v.address ? { address: v.address } : {}),
    },
  );
}

export async function authorityVote(args: string[]): Promise<void> {
  const v = parse(args, { ...common, proposal: { type: 'string' } });
  await signAndSubmit(
    { api: v.api, keyPair: readKeyFile(required(v.key, 'key')), ttlSeconds: 600, wait: v.wait },
    'governance.vote',
    { proposal: required(v.proposal, 'proposal') },
  );
}
