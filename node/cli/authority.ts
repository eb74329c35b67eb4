/**
 * `tillid authority propose|vote`: membership by vote. An authority proposes adding or removing a
 * municipality; the others vote; the change takes effect two blocks after more than two thirds
 * have voted for it. `tillid authority rotate`: an authority replaces its own key.
 */
import { openKeyArgument } from '../custody/open-signer.ts';
import { transactionHash } from '../protocol/transaction.ts';
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

/**
 * `tillid authority rotate --key <current key> --new-key <new key file>`: replaces this
 * authority's key (governance-rotation.ts). Both keys sign: the current one the transaction, the
 * new one its proof of possession. Prints the effective height; restart the node with the new key
 * file from then on (deploy/CEREMONY.md, "Rotating an authority's key").
 */
export async function authorityRotate(args: string[]): Promise<void> {
  const v = parse(args, {
    ...signingFlags,
    'new-key': { type: 'string' },
    'new-passphrase-file': { type: 'string' },
  });
  // The new key may be an encrypted file (its passphrase: --new-passphrase-file, else the current
  // key's) or an HSM description: rotating into an HSM is a rotation like any other.
  const newKey = await openKeyArgument(
    required(v['new-key'], 'new-key'),
    v['new-passphrase-file'] ?? v['passphrase-file'],
  );
  const session = await signingSession(v);
  if (newKey.publicKey === session.signer().publicKey)
    throw new UsageError('--new-key is the same key as --key');
  const tx = session.build.governance.rotate(session.signer(), newKey);
  await submitAndPrint(session, tx, v.wait, { from: session.signer().publicKey, to: newKey.publicKey });
  if (!v.wait || process.exitCode) return;
  const rotation = (await session.api.rotation(transactionHash(tx))) as { effectiveFrom: number } | undefined;
  if (rotation) console.log(JSON.stringify(rotation));
}
