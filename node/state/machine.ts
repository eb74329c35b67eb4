/**
 * The deterministic state machine: executes a block's transactions against a state and computes
 * the resulting state root. Used by the proposer (to build a block), by every node (to validate
 * one) and by `tillid chain verify` (to replay a chain), so all three agree by construction.
 */

import type { Json } from '../protocol/canonical.ts';
import { type ErrorCode, TillidError } from '../protocol/errors.ts';
import type { ChainParams } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import { findPersonalDataOf } from '../protocol/pii.ts';
import { type Transaction, transactionSignatureValid } from '../protocol/transaction.ts';
import { type TreeNode, type TreePageReader, updateTree } from './commitment/tree.ts';
import {
  type Action,
  actionOf,
  type BlockContext,
  type ModuleRegistry,
  type StateReader,
  type TxContext,
} from './module.ts';
import { StateOverlay } from './overlay.ts';

/** What happened to an included transaction. Part of state, so covered by the state root. */
export interface Receipt {
  readonly height: number;
  readonly index: number;
  readonly code: 'OK' | ErrorCode | 'TX_FAILED';
  readonly message?: string;
}

export const receiptKey = (txHash: Hex): string => `tx/${txHash}`;

export interface HashedTransaction {
  readonly tx: Transaction;
  readonly hash: Hex;
}

/** The action a transaction's type names (`<module>.<action>`), or `undefined`. */
export function actionFor(tx: Transaction, rules: Pick<Rules, 'modules'>): Action | undefined {
  const [moduleName, action] = tx.type.split('.') as [string, string | undefined];
  return action === undefined ? undefined : actionOf(rules.modules.get(moduleName), action);
}

export interface Rules {
  readonly chainId: string;
  readonly params: ChainParams;
  readonly modules: ModuleRegistry;
  /**
   * The signature check. Defaults to the one rule (`transactionSignatureValid`); a node passes a
   * version that remembers verdicts it has already reached, so each signature is verified once.
   */
  readonly signatureValid?: (tx: Transaction, hash: Hex) => boolean;
  /**
   * The signature rule for co-signature `index` inside transaction `hash`. Defaults to
   * `verifySignature`; a node passes the same memo (protocol/verdicts.ts).
   */
  readonly cosignatureValid?: (
    hash: Hex,
    index: number,
    publicKey: Hex,
    message: Uint8Array,
    signature: string,
  ) => boolean;
  /**
   * Transactions whose content already passed the content-only checks (personal-data scan, payload
   * check) on this node, by hash: skipped then. A node passes one memo to admission and block
   * execution (protocol/verdicts.ts `CheckedPayloads`), so each transaction is scanned once.
   */
  readonly checkedPayloads?: { has(hash: Hex): boolean; add(hash: Hex): void };
  /**
   * The latest committed state, for admission's per-action checks (`Action.admit`). Never read by
   * block execution, which gets its base state explicitly.
   */
  readonly committedState?: StateReader;
}

/**
 * Checks that need no state: chain, time window, signature, type and payload. Returns the error a
 * client should see, or `undefined`. `time` is the block time in a block, the node's clock on
 * admission.
 */
export function statelessProblem(
  item: HashedTransaction,
  time: number,
  rules: Rules,
): TillidError | undefined {
  const { tx, hash } = item;
  if (tx.chainId !== rules.chainId)
    return new TillidError('TX_WRONG_CHAIN', `this is chain ${rules.chainId}`);
  if (tx.expiresAt < time) return new TillidError('TX_EXPIRED', 'the transaction expired');
  if (tx.expiresAt - time > rules.params.maxTransactionTtlMs) {
    return new TillidError(
      'TX_EXPIRY_TOO_FAR',
      `expiresAt may be at most ${rules.params.maxTransactionTtlMs} ms ahead`,
    );
  }
  const action = actionFor(tx, rules);
  if (!action) return new TillidError('TX_UNKNOWN_TYPE', `unknown transaction type ${tx.type}`);
  const checked = rules.checkedPayloads;
  if (!checked?.has(hash)) {
    const problem = contentProblem(tx, action);
    if (problem) return problem;
    checked?.add(hash);
  }
  // Last, because it is by far the most expensive check.
  const valid = (rules.signatureValid ?? transactionSignatureValid)(tx, hash);
  if (!valid)
    return new TillidError('TX_BAD_SIGNATURE', 'the signature does not verify under the signer key');
  return undefined;
}

/** The checks that read only the transaction's type and payload (so their verdict is the hash's). */
function contentProblem(tx: Transaction, action: Action): TillidError | undefined {
  const pii = findPersonalDataOf(tx.payload);
  if (pii)
    return new TillidError(
      'PII_REJECTED',
      `payload field ${pii.path} looks like personal data (${pii.kind})`,
      {
        path: pii.path,
      },
    );
  try {
    action.check(tx.payload);
  } catch (e) {
    if (e instanceof TillidError) return e;
    return new TillidError('TX_PAYLOAD_INVALID', 'payload rejected');
  }
  return undefined;
}

export class BlockInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockInvalidError';
  }
}

export interface Execution {
  readonly included: HashedTransaction[];
  /** Candidates a proposer left out, with the reason. Always empty when validating. */
  readonly dropped: { item: HashedTransaction; error: TillidError }[];
  readonly writes: ReadonlyMap<string, Json>;
  /** The state tree's root after the block (state/commitment/tree.ts). */
  readonly stateRoot: Hex;
  /** The tree pages the block created, by record id (keyed by this block's height and their hash). */
  readonly treePages: ReadonlyMap<string, Uint8Array>;
  /** The stored pages of the previous tree this block replaced, by record id: pruning's stale list. */
  readonly replacedTreePages?: readonly string[];
  /** The id of the record the new root heads (state/commitment/pages.ts). */
  readonly treeRootRecord?: string;
  /** The new tree in memory (sharing the unchanged part with the old one): the store keeps the head's. */
  readonly tree?: TreeNode;
}

/** The co-signature rule for one transaction, bound to its hash (the memo's key). */
const cosignatureCheck = (rules: Rules, hash: Hex): Pick<TxContext, 'cosignatureValid'> => {
  const memo = rules.cosignatureValid;
  return memo
    ? { cosignatureValid: (i, key, message, signature) => memo(hash, i, key, message, signature) }
    : {};
};

/**
 * Executes `candidates` on top of `base` for the block described by `ctx`.
 *
 * mode `propose`: candidates that no block may contain (expired, duplicate, bad signature, …) are
 * dropped and reported. mode `validate`: such a transaction makes the whole block invalid, since an
 * honest proposer would have dropped it.
 */
export function executeBlock(
  base: StateReader & TreePageReader,
  previousStateRoot: Hex,
  candidates: readonly HashedTransaction[],
  ctx: BlockContext,
  rules: Rules,
  mode: 'propose' | 'validate',
): Execution {
  // The base is the committed state, which nothing changes while this synchronous call runs.
  const block = new StateOverlay(base, { rememberReads: true });
  for (const module of rules.modules.values()) {
    if (!module.beginBlock) continue;
    const hookState = new StateOverlay(block);
    try {
      module.beginBlock(hookState, ctx);
      hookState.mergeInto(block);
    } catch {
      // Deterministic on every node; the block goes on without this module's timed work, which is
      // retried at the next block (its cursor did not advance).
    }
  }
  const included: HashedTransaction[] = [];
  const dropped: Execution['dropped'] = [];
  const seen = new Set<Hex>();
  for (const item of candidates) {
    let problem = statelessProblem(item, ctx.timestamp, rules);
    if (!problem && (seen.has(item.hash) || block.get(receiptKey(item.hash)) !== undefined)) {
      problem = new TillidError('TX_DUPLICATE', 'the transaction is already on the chain');
    }
    if (problem) {
      if (mode === 'validate')
        throw new BlockInvalidError(`transaction ${item.hash}: ${problem.code}: ${problem.message}`);
      dropped.push({ item, error: problem });
      continue;
    }
    seen.add(item.hash);
    const index = included.length;
    included.push(item);
    const action = actionFor(item.tx, rules);
    const txState = new StateOverlay(block);
    let receipt: Receipt = { height: ctx.height, index, code: 'OK' };
    try {
      action?.apply(txState, item.tx, {
        ...ctx,
        txHash: item.hash,
        index,
        ...cosignatureCheck(rules, item.hash),
      });
      txState.mergeInto(block);
    } catch (e) {
      // A module bug must not make nodes diverge: a non-typed failure is a rejection too, with a
      // fixed message (an exception's text could differ between Node versions).
      receipt =
        e instanceof TillidError
          ? { height: ctx.height, index, code: e.code, message: e.message }
          : {
              height: ctx.height,
              index,
              code: 'TX_FAILED',
              message: 'the module failed to apply the transaction',
            };
    }
    block.set(receiptKey(item.hash), receipt as unknown as Json);
  }
  // One batched tree update per block: nodes shared by many writes are re-hashed once.
  const tree = updateTree(base, previousStateRoot, block.writes, ctx.height);
  return {
    included,
    dropped,
    writes: block.writes,
    stateRoot: tree.root,
    treePages: tree.pages,
    replacedTreePages: tree.replaced,
    ...(tree.rootRecord === undefined ? {} : { treeRootRecord: tree.rootRecord }),
    tree: tree.tree,
  };
}
