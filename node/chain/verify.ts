/**
 * Offline verification of a whole chain: replays every block from the genesis in memory and checks
 * each link, transaction signature, state root and commit certificate, using the same validation
 * the node uses. Reports OK or the first bad height and why. This is the auditor's tool: it trusts
 * only the genesis it is given, not the node or store it reads from.
 */
import { certificateProblem, decodeBlock, extraFieldsProblem } from '../protocol/block.ts';
import { type Genesis, genesisHash } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import type { Rules } from '../state/machine.ts';
import type { ModuleRegistry } from '../state/module.ts';
import { authoritiesAt } from '../state/modules/governance.ts';
import { MemoryState } from '../state/overlay.ts';
import { genesisHead } from './chain.ts';
import type { Head } from './store.ts';
import { headOf, validateBlock } from './validation.ts';

export interface BlockSource {
  /** The head the source claims: its height and hash. */
  head(): Promise<{ height: number; hash: Hex }>;
  /** The block at `height` as stored (a JSON string) or served (parsed JSON); undefined if absent. */
  block(height: number): Promise<unknown>;
}

export type Verdict =
  | { ok: true; height: number; headHash: Hex }
  | { ok: false; height: number; reason: string };

/** A head the auditor already trusts (from a certificate or a proven read): the chain must reach it. */
export interface ExpectedHead {
  readonly height: number;
  readonly hash?: Hex;
}

export async function verifyChain(
  source: BlockSource,
  genesis: Genesis,
  modules: ModuleRegistry,
  onProgress?: (height: number) => void,
  expect?: ExpectedHead,
): Promise<Verdict> {
  const rules: Rules = { chainId: genesis.chainId, params: genesis.params, modules };
  const state = new MemoryState();
  let parent: Head = genesisHead(genesis);
  const claimed = await source.head();
  for (let height = 1; height <= claimed.height; height++) {
    const fail = (reason: string): Verdict => ({ ok: false, height, reason });
    let raw: unknown;
    try {
      raw = await source.block(height);
    } catch (e) {
      return fail(`cannot read the block: ${(e as Error).message}`);
    }
    if (raw === undefined) return fail('the block is missing');
    try {
      const parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
      const extra = extraFieldsProblem(parsed);
      if (extra) return fail(extra);
      const block = decodeBlock(parsed);
      // The set in force at this height, from the membership schedule replayed so far.
      const authorities = authoritiesAt(state, genesis, height).map((a) => a.publicKey);
      const execution = validateBlock(parent, block, state, rules, authorities);
      const problem = certificateProblem(block.certificate, block.header, authorities);
      if (problem) return fail(problem);
      state.apply(execution.writes, {
        root: execution.stateRoot,
        pages: execution.treePages,
        ...(execution.treeRootRecord === undefined ? {} : { rootRecord: execution.treeRootRecord }),
        ...(execution.tree ? { tree: execution.tree } : {}),
      });
      parent = headOf(block);
      if (expect?.hash !== undefined && height === expect.height && parent.hash !== expect.hash)
        return fail(`the block at the expected head is ${parent.hash}, not ${expect.hash}`);
    } catch (e) {
      return fail((e as Error).message);
    }
    onProgress?.(height);
  }
  if (claimed.height > 0 && claimed.hash !== parent.hash) {
    return {
      ok: false,
      height: claimed.height,
      reason: 'the head the source claims is not the block it holds',
    };
  }
  if (expect && parent.height < expect.height) {
    return {
      ok: false,
      height: parent.height,
      reason: `the chain ends at height ${parent.height}, short of the expected head ${expect.height}`,
    };
  }
  return {
    ok: true,
    height: parent.height,
    headHash: claimed.height === 0 ? genesisHash(genesis) : parent.hash,
  };
}
