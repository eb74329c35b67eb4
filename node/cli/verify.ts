/** `tillid chain verify`: replay a chain from its genesis, from a data directory or a node's API. */

import { genesisHead } from '../chain/chain.ts';
import { ChainStore } from '../chain/store.ts';
import { type BlockSource, verifyChain } from '../chain/verify.ts';
import { readGenesis } from '../genesis-file.ts';
import { applicationModules } from '../state/application.ts';
import { parse, required, UsageError } from './args.ts';

export async function chainVerify(args: string[]): Promise<void> {
  const v = parse(args, {
    genesis: { type: 'string' },
    'data-dir': { type: 'string' },
    api: { type: 'string' },
  });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  if (!v['data-dir'] === !v.api) throw new UsageError('give exactly one of --data-dir or --api');
  let source: BlockSource;
  let close = async () => {};
  if (v['data-dir']) {
    let store: ChainStore;
    try {
      store = await ChainStore.open(v['data-dir']);
    } catch (e) {
      throw new Error(`${(e as Error).message} (is the node still running? stop it, or verify with --api)`);
    }
    source = {
      head: async () => store.head() ?? genesisHead(genesis),
      block: (height) => store.getBlockJson(height),
    };
    close = () => store.close();
  } else {
    const api = v.api as string;
    source = {
      head: async () => {
        const status = await getJson(`${api}/v1/status`);
        return { height: status.height, hash: status.headHash };
      },
      block: (height) => getJson(`${api}/v1/blocks/${height}`),
    };
  }
  try {
    const verdict = await verifyChain(source, genesis, applicationModules(genesis));
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

async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}
