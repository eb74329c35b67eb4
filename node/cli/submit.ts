/**
 * How every signing CLI command submits, on the client library (`client/`): a key (a key file,
 * encrypted or not, or an HSM description: custody/open-signer.ts), a node
 * API, an optional `--wait` for finality. Prints `{ hash, ...extra }`, then with `--wait` the final
 * transaction status; a chain refusal prints the status too and exits 1.
 */

import { TillidClientError } from '../../client/http.ts';
import type { Acting } from '../../client/payloads.ts';
import { connect, type Session } from '../../client/session.ts';
import { openKeyArgument } from '../custody/open-signer.ts';
import type { Transaction } from '../protocol/transaction.ts';
import { required, UsageError } from './args.ts';

export const DEFAULT_API = 'http://127.0.0.1:7101';

/** Flags every signing command takes. */
export const signingFlags = {
  key: { type: 'string' },
  'passphrase-file': { type: 'string' },
  api: { type: 'string', default: DEFAULT_API },
  'ttl-seconds': { type: 'string', default: '600' },
  wait: { type: 'boolean', default: false },
} as const;

/** Flags of the commands that act for a party: who acts, in which role. */
export const actingFlags = {
  party: { type: 'string' },
  role: { type: 'string' },
  actor: { type: 'string' },
} as const;

export interface SigningValues {
  key?: string | undefined;
  'passphrase-file'?: string | undefined;
  api: string;
  'ttl-seconds': string;
  wait: boolean;
}

export function actingOf(v: { party?: string; role?: string; actor?: string }): Acting {
  return {
    party: required(v.party, 'party'),
    role: required(v.role, 'role') as Acting['role'],
    actor: required(v.actor, 'actor'),
  };
}

/** A session signing with `--key`, for `--api`'s chain. */
export async function signingSession(v: SigningValues, as?: Acting): Promise<Session> {
  const ttl = Number(v['ttl-seconds']);
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 3600)
    throw new UsageError('--ttl-seconds must be a whole number from 1 to 3600');
  const key = await openKeyArgument(required(v.key, 'key'), v['passphrase-file']);
  return connect(v.api, { key, ttlMs: ttl * 1000, ...(as ? { as } : {}) });
}

/** Submits `tx`, prints its hash (with `extra`), and with `wait` its final status. */
export async function submitAndPrint(
  session: Session,
  tx: Transaction,
  wait: boolean,
  extra: object = {},
): Promise<void> {
  const hash = await session.api.submit(tx);
  console.log(JSON.stringify({ hash, ...extra }));
  if (!wait) return;
  try {
    console.log(JSON.stringify(await session.api.waitFinal(hash)));
  } catch (e) {
    if (!(e instanceof TillidClientError) || !e.rejected) throw e;
    console.log(JSON.stringify(await session.api.transaction(hash)));
    process.exitCode = 1;
  }
}
