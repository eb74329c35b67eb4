/**
 * `tillid node backup` and `tillid node restore`: a node's chain to a file and back.
 *
 * Backup reads the finalized blocks 1..head of a RUNNING node through its API (or of a stopped
 * node's data directory). Finalized blocks never change, so fixing the head first makes the
 * backup consistent without pausing the node; the file is written aside and renamed when complete.
 * It holds no key: key.json is backed up once, at the key ceremony, and kept apart.
 *
 * Restore replays every block of the file into a data directory without a store, through the node's own
 * validation — links, transaction signatures, state roots, commit certificates against the
 * authority set of each height — so a damaged or forged backup stops at the first bad height and
 * is never trusted. The node then starts and syncs the blocks finalized since the backup from its
 * peers. signed-votes.jsonl (the node's record of its own votes, which keeps it from ever signing
 * two different votes; it lives in the data directory) may stay in the directory and is kept.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Chain, genesisHead } from '../chain/chain.ts';
import { ChainStore } from '../chain/store.ts';
import { readGenesis } from '../node.ts';
import { type Block, decodeBlock } from '../protocol/block.ts';
import { type Genesis, genesisHash } from '../protocol/genesis.ts';
import { applicationModules } from '../state/application.ts';
import { parse, required, UsageError } from './args.ts';
import { progress } from './progress.ts';

const FORMAT = 'tillid-backup/1';
const SIGNED_VOTES = 'signed-votes.jsonl';

interface BackupHeader {
  readonly format: typeof FORMAT;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly headHash: string;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

export async function writeBackup(
  source: { head(): Promise<{ height: number; hash: string }>; block(height: number): Promise<unknown> },
  genesis: Genesis,
  out: string,
): Promise<BackupHeader> {
  const head = await source.head();
  const header: BackupHeader = {
    format: FORMAT,
    chainId: genesis.chainId,
    genesisHash: genesisHash(genesis),
    height: head.height,
    headHash: head.hash,
  };
  const partial = `${out}.partial`;
  const file = createWriteStream(partial, { mode: 0o600 });
  const write = async (line: string) => {
    if (!file.write(`${line}\n`)) await once(file, 'drain');
  };
  const report = progress('backed up', head.height);
  try {
    await write(JSON.stringify(header));
    for (let height = 1; height <= head.height; height++) {
      const raw = await source.block(height);
      if (raw === undefined) throw new Error(`block ${height} is missing at the source`);
      const {
        header: h,
        transactions,
        certificate,
      } = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Block;
      await write(JSON.stringify({ header: h, transactions, certificate }));
      report(height);
    }
  } finally {
    file.end();
    await once(file, 'close');
  }
  renameSync(partial, out);
  return header;
}

export async function nodeBackup(args: string[]): Promise<void> {
  const v = parse(args, {
    genesis: { type: 'string' },
    api: { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string' },
  });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  const out = required(v.out, 'out');
  if (!v.api === !v['data-dir'])
    throw new UsageError('give exactly one of --api (running node) or --data-dir');
  if (existsSync(out)) throw new UsageError(`${out} exists; choose a new file`);
  let header: BackupHeader;
  if (v.api) {
    const api = v.api.replace(/\/+$/, '');
    const status = (await getJson(`${api}/v1/status`)) as {
      chainId?: string;
      height: number;
      headHash: string;
    };
    if (status.chainId !== undefined && status.chainId !== genesis.chainId)
      throw new Error(`the node runs chain ${status.chainId}, not ${genesis.chainId}`);
    header = await writeBackup(
      {
        head: async () => ({ height: status.height, hash: status.headHash }),
        block: (height) => getJson(`${api}/v1/blocks/${height}`),
      },
      genesis,
      out,
    );
  } else {
    let store: ChainStore;
    try {
      store = await ChainStore.open(v['data-dir'] as string);
    } catch (e) {
      throw new Error(`${(e as Error).message} (is the node running? back it up with --api)`);
    }
    try {
      header = await writeBackup(
        {
          head: async () => store.head() ?? genesisHead(genesis),
          block: (height) => store.getBlockJson(height),
        },
        genesis,
        out,
      );
    } finally {
      await store.close();
    }
  }
  console.log(`OK: ${header.height} blocks to ${out}, head ${header.headHash}`);
}

/** Replays a backup into an empty data directory; throws naming the first bad height. */
export async function restoreBackup(
  file: string,
  genesis: Genesis,
  dataDir: string,
): Promise<{ height: number; headHash: string }> {
  // The node's signed-vote log lives in the data directory too; it is kept, never overwritten.
  if (existsSync(dataDir) && readdirSync(dataDir).some((f) => f !== SIGNED_VOTES))
    throw new UsageError(
      `${dataDir} holds a store: move it aside first (restore never overwrites one; only ${SIGNED_VOTES} may stay)`,
    );
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let header: BackupHeader | undefined;
  let chain: Chain | undefined;
  let report: (height: number) => void = () => {};
  try {
    for await (const line of lines) {
      if (!header) {
        header = JSON.parse(line) as BackupHeader;
        if (header.format !== FORMAT) throw new Error(`${file} is not a Tillid backup (${FORMAT})`);
        if (header.genesisHash !== genesisHash(genesis))
          throw new Error(`the backup is of genesis ${header.genesisHash}, not ${genesisHash(genesis)}`);
        chain = await Chain.open(dataDir, genesis, applicationModules(genesis));
        report = progress('restored', header.height);
        continue;
      }
      const c = chain as Chain;
      const height = c.head.height + 1;
      try {
        // Only the block itself: the API serves extras (its hash, …) that are not part of it.
        const { header, transactions, certificate } = decodeBlock(JSON.parse(line));
        const block = { header, transactions, certificate };
        await c.commit(block, c.validate(block));
      } catch (e) {
        throw new Error(`block ${height} of the backup is invalid: ${(e as Error).message}`);
      }
      report(height);
    }
    if (!header || !chain) throw new Error(`${file} is empty`);
    if (chain.head.height !== header.height || (header.height > 0 && chain.head.hash !== header.headHash))
      throw new Error(`the backup ends at height ${chain.head.height}; its header promised ${header.height}`);
    return { height: chain.head.height, headHash: chain.head.hash };
  } finally {
    await chain?.close();
  }
}

export async function nodeRestore(args: string[]): Promise<void> {
  const v = parse(args, {
    genesis: { type: 'string' },
    from: { type: 'string' },
    'data-dir': { type: 'string' },
  });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  const { height, headHash } = await restoreBackup(
    required(v.from, 'from'),
    genesis,
    required(v['data-dir'], 'data-dir'),
  );
  console.log(
    `OK: restored and verified ${height} blocks, head ${headHash}. Start the node: it syncs newer blocks from its peers.`,
  );
}
