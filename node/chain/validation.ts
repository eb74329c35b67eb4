/**
 * Block validity, shared by the node (a block from a proposer) and `tillid chain verify` (a block
 * from a store or an API), so there is one definition of a valid chain.
 */
import { type Block, blockHash } from '../protocol/block.ts';
import type { Hex } from '../protocol/hash.ts';
import { merkleRoot } from '../protocol/merkle.ts';
import { decodeTransaction } from '../protocol/transaction.ts';
import type { TreePageReader } from '../state/commitment/tree.ts';
import { BlockInvalidError, type Execution, executeBlock, type Rules } from '../state/machine.ts';
import type { StateReader } from '../state/module.ts';
import type { Head } from './store.ts';

/**
 * Checks `block` as the successor of `parent` and re-executes it on `state`. Returns the execution
 * (the writes to commit) or throws BlockInvalidError. Does not look at the commit certificate.
 */
export function validateBlock(
  parent: Head,
  block: Block,
  state: StateReader & TreePageReader,
  rules: Rules,
  authorities: readonly Hex[],
): Execution {
  const { header } = block;
  const fail = (why: string): never => {
    throw new BlockInvalidError(why);
  };
  if (header.chainId !== rules.chainId) fail(`chain id ${header.chainId} is not ${rules.chainId}`);
  if (header.height !== parent.height + 1) fail(`height ${header.height} does not follow ${parent.height}`);
  if (header.parentHash !== parent.hash) fail('parent hash does not match the previous block');
  if (header.timestamp <= parent.timestamp) fail('timestamp is not later than the previous block');
  if (!authorities.includes(header.proposer)) fail('proposer is not an authority');
  if (block.transactions.length > rules.params.maxBlockTransactions) fail('too many transactions');
  const items = block.transactions.map((raw, i) => {
    try {
      return decodeTransaction(raw);
    } catch (e) {
      return fail(`transaction ${i} is malformed: ${(e as Error).message}`);
    }
  });
  if (merkleRoot(items.map((t) => t.hash)) !== header.txRoot) fail('transactions root does not match');
  const execution = executeBlock(state, parent.stateRoot, items, header, rules, 'validate');
  if (execution.stateRoot !== header.stateRoot) fail('state root does not match re-execution');
  return execution;
}

export const headOf = (block: Block): Head => ({
  height: block.header.height,
  hash: blockHash(block.header),
  stateRoot: block.header.stateRoot,
  timestamp: block.header.timestamp,
});
