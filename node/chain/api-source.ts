/**
 * A node's HTTP API as a `BlockSource` for `verifyChain`: what `tillid chain verify --api` and the
 * tests replay. The API adds each block's hash for convenience; it is not part of the stored block,
 * so it is checked against the header and removed before the strict shape check sees the block.
 */
import { type Block, blockHash } from '../protocol/block.ts';
import type { BlockSource } from './verify.ts';

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

export function apiBlockSource(api: string): BlockSource {
  const base = api.replace(/\/+$/, '');
  return {
    head: async () => {
      const status = (await getJson(`${base}/v1/status`)) as { height: number; headHash: string };
      return { height: status.height, hash: status.headHash };
    },
    block: async (height) => {
      const served = await getJson(`${base}/v1/blocks/${height}`);
      if (served === undefined) return undefined;
      const { hash, ...block } = served;
      if (hash !== blockHash(block.header as Block['header']))
        throw new Error(`block ${height}: the served hash is not the header hash`);
      return block;
    },
  };
}
