/** Shared fixtures for tests: throwaway keys, genesis files and signed anchors. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PARAMS, type Genesis } from '../node/protocol/genesis.ts';
import { generateKeyPair, type KeyPair } from '../node/protocol/signature.ts';
import { signTransaction, type Transaction } from '../node/protocol/transaction.ts';

export function tempDir(t: { after(fn: () => unknown): void }, prefix = 'tillid-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function devGenesis(
  authorities: KeyPair[],
  genesisTime = Date.now() - 1000,
  chainId = 'tillid-test',
): Genesis {
  return {
    chainId,
    genesisTime,
    authorities: authorities.map((k, i) => ({
      name: `Kommune ${i + 1}`,
      cvr: String(29189846 + i),
      publicKey: k.publicKey,
    })),
    params: DEFAULT_PARAMS,
  };
}

export function anchorTx(
  signer: KeyPair,
  chainId = 'tillid-test',
  overrides: Partial<{ hash: string; docType: string; ref: string; expiresAt: number; nonce: string }> = {},
): Transaction {
  return signTransaction(
    {
      chainId,
      type: 'anchor.record',
      payload: {
        hash: overrides.hash ?? randomBytes(32).toString('hex'),
        docType: overrides.docType ?? 'status-report',
        // Hex digits can line up as ten digits that read as a CPR number; letters never do.
        ref:
          overrides.ref ??
          `urn:test:${randomBytes(12)
            .toString('base64url')
            .replace(/[^A-Za-z]/g, 'x')}`,
      },
      signer: signer.publicKey,
      nonce: overrides.nonce ?? randomUUID(),
      expiresAt: overrides.expiresAt ?? Date.now() + 60_000,
    },
    signer.privateKey,
  );
}

export { generateKeyPair };

/** Starts a real node in this process on a free port, with its own store in a temp dir. */
export async function startTestNode(
  t: { after(fn: () => void | Promise<void>): void },
  options: {
    blockIntervalMs?: number;
    emptyBlockIntervalMs?: number;
    mempool?: { maxTransactions: number; maxBytes: number };
  } = {},
) {
  const { writeFileSync } = await import('node:fs');
  const { writeKeyFile } = await import('../node/keyfile.ts');
  const { validateConfig } = await import('../node/config.ts');
  const { createLogger } = await import('../node/log.ts');
  const { TillidNode } = await import('../node/node.ts');
  const dir = tempDir(t);
  const key = generateKeyPair();
  writeKeyFile(join(dir, 'key.json'), key);
  const genesis = devGenesis([key]);
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(genesis));
  const config = validateConfig(
    {
      name: 'Test Kommune',
      genesisFile: 'genesis.json',
      keyFile: 'key.json',
      dataDir: 'data',
      api: { host: '127.0.0.1', port: 0 },
      blockIntervalMs: options.blockIntervalMs ?? 50,
      ...(options.emptyBlockIntervalMs ? { emptyBlockIntervalMs: options.emptyBlockIntervalMs } : {}),
      ...(options.mempool ? { mempool: options.mempool } : {}),
      logLevel: 'silent',
    },
    dir,
  );
  const node = await TillidNode.start(config, createLogger('silent'));
  t.after(() => node.stop());
  return { node, key, genesis, url: node.url, dir };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET a JSON document; tests read responses loosely typed. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by assertions, not types
export const getJson = async (url: string): Promise<any> => (await fetch(url)).json();
