/**
 * `tillid chain verify`: replay a chain from its genesis, from a data directory or a node's API.
 *
 * A data directory is never opened in place: LevelDB's recovery rewrites what it opens (and drops a
 * damaged tail without an error). The verifier copies the directory, opens the copy, and fails if
 * the engine reports anything it dropped or repaired in it; with `--expect-height` (and
 * `--expect-hash`) a store that ends short of a head the auditor already trusts fails too.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiBlockSource } from '../chain/api-source.ts';
import { genesisHead } from '../chain/chain.ts';
import { ChainStore } from '../chain/store.ts';
import { type BlockSource, type ExpectedHead, verifyChain } from '../chain/verify.ts';
import { readGenesis } from '../genesis-file.ts';
import { isHex } from '../protocol/hash.ts';
import { applicationModules } from '../state/application.ts';
import { parse, required, UsageError } from './args.ts';
import { progress } from './progress.ts';

/** What LevelDB writes to its info log when recovery drops or cannot read records. */
const ENGINE_TROUBLE =
  /dropping \d+ bytes|corrupt|checksum mismatch|bad record length|missing start of fragmented record/i;

export async function chainVerify(args: string[]): Promise<void> {
  const v = parse(args, {
    genesis: { type: 'string' },
    'data-dir': { type: 'string' },
    api: { type: 'string' },
    'expect-height': { type: 'string' },
    'expect-hash': { type: 'string' },
  });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  if (!v['data-dir'] === !v.api) throw new UsageError('give exactly one of --data-dir or --api');
  const expect = expectedHead(v['expect-height'], v['expect-hash']);
  let source: BlockSource;
  let close = async () => {};
  let engineTrouble = (): string | undefined => undefined;
  if (v['data-dir']) {
    const dataDir = v['data-dir'];
    if (!existsSync(join(dataDir, 'CURRENT'))) throw new Error(`${dataDir} holds no chain store`);
    const snapshot = mkdtempSync(join(tmpdir(), 'tillid-verify-'));
    let store: ChainStore;
    try {
      cpSync(dataDir, snapshot, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
      store = await ChainStore.open(snapshot, { createIfMissing: false });
    } catch (e) {
      rmSync(snapshot, { recursive: true, force: true });
      throw new Error(`${(e as Error).message} (is the node still running? stop it, or verify with --api)`);
    }
    engineTrouble = () => {
      const log = existsSync(join(snapshot, 'LOG')) ? readFileSync(join(snapshot, 'LOG'), 'utf8') : '';
      const line = log.split('\n').find((l) => ENGINE_TROUBLE.test(l));
      return line && `the storage engine found damage while opening the store: ${line.trim()}`;
    };
    source = {
      head: async () => store.head() ?? genesisHead(genesis),
      block: (height) => store.getBlockJson(height),
    };
    close = async () => {
      await store.close();
      rmSync(snapshot, { recursive: true, force: true });
    };
  } else {
    source = apiBlockSource(v.api as string);
  }
  try {
    const trouble = engineTrouble();
    if (trouble) {
      console.log(`FAILED: ${trouble}`);
      process.exitCode = 1;
      return;
    }
    const total = (await source.head()).height;
    const verdict = await verifyChain(
      source,
      genesis,
      applicationModules(genesis),
      progress('verified', total),
      expect,
    );
    if (verdict.ok) {
      console.log(`OK: ${verdict.height} blocks verified, head ${verdict.headHash}`);
    } else {
      console.log(`FAILED at height ${verdict.height}: ${verdict.reason}`);
      process.exitCode = 1;
    }
  } finally {
    await close();
  }
}

function expectedHead(height: string | undefined, hash: string | undefined): ExpectedHead | undefined {
  if (height === undefined) {
    if (hash !== undefined) throw new UsageError('--expect-hash needs --expect-height');
    return undefined;
  }
  if (!/^\d{1,15}$/.test(height)) throw new UsageError('--expect-height is a block height');
  if (hash !== undefined && !isHex(hash, 32))
    throw new UsageError('--expect-hash is a 64-digit hex block hash');
  return hash === undefined ? { height: Number(height) } : { height: Number(height), hash };
}
