/**
 * Development setup shared by `npm start`, the tests and the bench: register each municipality
 * as a party on chain with the gateway's submitter key (signed by that municipality's own
 * authority key, which stays in its node directory — the gateway never holds it), and register
 * providers with their gateway-held keys (signed by a municipality's submitter key, its
 * registrar). Idempotent: parties already registered are left alone.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../node/protocol/canonical.ts';
import type { Hex } from '../node/protocol/hash.ts';
import type { KeyPair } from '../node/protocol/signature.ts';
import { signingMessage } from '../node/protocol/signature.ts';
import { signTransaction, type Transaction, transactionHash } from '../node/protocol/transaction.ts';
import type { KeyStore, SubmitterSigner } from './keystore.ts';

/** The roles a municipality's gateway submitter key may act in; `admin` lets it register providers. */
export const MUNICIPAL_SUBMITTER_ROLES = ['caseworker', 'centre-chief', 'director'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJson<T>(url: string): Promise<T | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Submits and waits until every transaction is final; throws naming any the chain rejected. */
export async function submitAndWait(nodeUrl: string, txs: Transaction[], timeoutMs = 60_000): Promise<void> {
  if (txs.length === 0) return;
  const response = await fetch(`${nodeUrl}/v1/transactions/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transactions: txs }),
  });
  const body = (await response.json()) as { results: { hash?: string; code?: string; message?: string }[] };
  body.results.forEach((r, i) => {
    if (!r.hash && r.code !== 'TX_DUPLICATE') throw new Error(`${txs[i]?.type}: ${r.code} ${r.message}`);
  });
  const deadline = Date.now() + timeoutMs;
  for (const tx of txs) {
    const hash = transactionHash(tx);
    for (;;) {
      const view = await getJson<{ status: string; code?: string; message?: string }>(
        `${nodeUrl}/v1/transactions/${hash}`,
      );
      if (view?.status === 'finalized') break;
      if (view?.status === 'rejected') throw new Error(`${tx.type}: ${view.code} ${view.message ?? ''}`);
      if (Date.now() > deadline) throw new Error(`${tx.type}: not final within ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

const signWith = (
  chainId: string,
  signer: SubmitterSigner,
  type: string,
  payload: JsonObject,
): Transaction => {
  const body = {
    chainId,
    type,
    payload,
    signer: signer.publicKey,
    nonce: randomUUID(),
    expiresAt: Date.now() + 600_000,
  };
  return { ...body, signature: signer.sign(signingMessage('tx', transactionHash(body))) };
};

/**
 * Registers `municipalities` (CVR → its authority key) with the key store's submitter key for that
 * CVR, then `providers` with their key-store keys, registered by the first municipality.
 */
export async function registerDevParties(o: {
  nodeUrl: string;
  keyStore: KeyStore;
  municipalities: ReadonlyMap<string, KeyPair>;
  providers: readonly string[];
}): Promise<{ registered: string[] }> {
  const status = (await getJson<{ chainId: string }>(`${o.nodeUrl}/v1/status`)) as { chainId: string };
  const registered: string[] = [];
  const exists = async (cvr: string) => (await getJson(`${o.nodeUrl}/v1/parties/${cvr}`)) !== undefined;
  const municipal: Transaction[] = [];
  for (const [cvr, authority] of o.municipalities) {
    const submitter = o.keyStore.signer(cvr);
    if (!submitter) throw new Error(`the key store holds no submitter key for ${cvr}`);
    if (await exists(cvr)) continue;
    municipal.push(
      signTransaction(
        {
          chainId: status.chainId,
          type: 'party.register',
          payload: {
            cvr,
            kind: 'municipality',
            keys: [{ publicKey: submitter.publicKey, roles: MUNICIPAL_SUBMITTER_ROLES, admin: true }],
          },
          signer: authority.publicKey,
          nonce: randomUUID(),
          expiresAt: Date.now() + 600_000,
        },
        authority.privateKey,
      ),
    );
    registered.push(cvr);
  }
  await submitAndWait(o.nodeUrl, municipal);
  const registrar = [...o.municipalities.keys()][0];
  const registrarKey = registrar ? o.keyStore.signer(registrar) : undefined;
  const providerTxs: Transaction[] = [];
  for (const cvr of o.providers) {
    const key = o.keyStore.signer(cvr);
    if (!key || !registrarKey || (await exists(cvr))) continue;
    providerTxs.push(
      signWith(status.chainId, registrarKey, 'party.register', {
        cvr,
        kind: 'provider',
        keys: [{ publicKey: key.publicKey as Hex, roles: ['provider-representative'] }],
      }),
    );
    registered.push(cvr);
  }
  await submitAndWait(o.nodeUrl, providerTxs);
  return { registered };
}
