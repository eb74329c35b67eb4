/**
 * Block receipts: what the chain decided for each transaction of a finalized block, in block
 * order. The hashes of recent blocks are kept from their commit, so a gateway polling the newest
 * blocks never makes the node re-read (and re-hash) them from the store.
 */
import { blockHash } from '../protocol/block.ts';
import type { Hex } from '../protocol/hash.ts';
import { transactionHash } from '../protocol/transaction.ts';
import type { Chain } from './chain.ts';

export interface BlockReceipts {
  height: number;
  /** The block hash. */
  hash: Hex;
  receipts: { hash: Hex; index: number; code: string; message?: string | undefined }[];
}

/** Recent blocks whose hashes are kept from their commit, so receipt queries need not read them. */
const RECENT_BLOCKS = 256;

export interface BlockReceiptsComponents {
  readonly chain: Pick<Chain, 'block' | 'receipt' | 'onCommit'>;
}

export class BlockReceiptIndex {
  readonly #chain: BlockReceiptsComponents['chain'];
  /** Hash and transaction hashes of the last RECENT_BLOCKS committed blocks. */
  readonly #recent = new Map<number, { readonly hash: Hex; readonly transactions: readonly Hex[] }>();

  constructor({ chain }: BlockReceiptsComponents) {
    this.#chain = chain;
    chain.onCommit(({ block, execution }) => {
      this.#recent.set(block.header.height, {
        hash: blockHash(block.header),
        transactions: execution.included.map((t) => t.hash),
      });
      this.#recent.delete(block.header.height - RECENT_BLOCKS);
    });
  }

  /** Each transaction's receipt in the finalized block at `height`, read from state, in block order. */
  async of(height: number): Promise<BlockReceipts | undefined> {
    let recent = this.#recent.get(height);
    if (!recent) {
      const block = await this.#chain.block(height);
      if (!block) return undefined;
      recent = { hash: blockHash(block.header), transactions: block.transactions.map(transactionHash) };
    }
    const receipts = recent.transactions.map((hash, index) => {
      const receipt = this.#chain.receipt(hash);
      // The block and its state writes are committed in one batch: a missing receipt is a bug.
      if (receipt?.height !== height || receipt.index !== index)
        throw new Error(`no receipt at ${height}/${index} for transaction ${hash}`);
      return receipt.message === undefined
        ? { hash, index, code: receipt.code }
        : { hash, index, code: receipt.code, message: receipt.message };
    });
    return { height, hash: recent.hash, receipts };
  }
}
