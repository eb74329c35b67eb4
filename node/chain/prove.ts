/**
 * Builds proven reads (state/commitment/proven-read.ts) from a node's chain: evaluates the read on
 * finalized state while recording the keys it touches, proves each key under the state root of the
 * header it answers at, and adds the certified headers a verifier needs to trust that header.
 */
import type { Block } from '../protocol/block.ts';
import { blockHash } from '../protocol/block.ts';
import type { Json } from '../protocol/canonical.ts';
import { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { transactionHash } from '../protocol/transaction.ts';
import { refNode } from '../state/commitment/pages.ts';
import { proveKey, RecordingState, StaleReadError, type StateProof } from '../state/commitment/proof.ts';
import { type AuthorityStep, PROVEN_READ_FORMAT, type ProvenRead } from '../state/commitment/proven-read.ts';
import { evaluateRead, type ReadSpec } from '../state/commitment/reads.ts';
import { provePath, type TreeNode, type TreePageReader, valueHashOf } from '../state/commitment/tree.ts';
import type { StateReader } from '../state/module.ts';
import { authoritySchedule, SCHEDULE_KEY, type ScheduledSet } from '../state/modules/governance.ts';
import type { Chain } from './chain.ts';

/** A proof of `key` under `root` for a value that is no longer the latest (an older root). */
function proveAs(reader: TreePageReader, root: Hex, key: string, value: Json | undefined): StateProof {
  const path = provePath(reader, root, key);
  if (
    path.present !== (value !== undefined) ||
    (value !== undefined && valueHashOf(value) !== path.leaf?.valueHash)
  )
    throw new StaleReadError(`${key} under ${root} is not the value expected`);
  if (value !== undefined) return { key, value, siblings: path.siblings };
  if (!path.leaf) return { key, siblings: path.siblings };
  const { keyHash, valueHash } = path.leaf;
  return { key, siblings: path.siblings, other: { keyHash, valueHash } };
}

async function certifiedBlock(chain: Chain, height: number): Promise<Block> {
  const block = await chain.block(height);
  if (!block?.certificate) throw new TillidError('NOT_FOUND', `no finalized block at ${height}`);
  return block;
}

/**
 * The schedule as it stood at `height`: the latest one without the entries decided later (they
 * only ever append — governance.ts — and take effect MEMBERSHIP_DELAY = 2 blocks after their
 * decision). `proveAs` checks the result against the tree, so a wrong guess cannot slip through.
 */
const scheduleAt = (latest: readonly ScheduledSet[] | undefined, height: number): Json | undefined =>
  latest === undefined ? undefined : (latest.filter((e) => e.fromHeight <= height + 2) as unknown as Json);

async function attempt(chain: Chain, spec: ReadSpec): Promise<ProvenRead> {
  // A root no longer in memory (a receipts proof behind the head, an authority change) is read
  // from its pages once per read: every key proven under it shares what was loaded.
  const older = new Map<Hex, TreeNode>();
  const reader: StateReader & TreePageReader = {
    get: (k) => chain.readState(k),
    treePage: (id) => chain.treePage(id),
    treeRoot: (root) => {
      const held = chain.treeRoot(root) ?? older.get(root) ?? refNode(root, chain.rootRecord(root));
      older.set(root, held);
      return held;
    },
  };
  let height: number;
  let root: Hex;
  let timestamp: number;
  let transactions: Hex[] | undefined;
  let block: Block | undefined;
  if (spec.kind === 'receipts') {
    // A block's receipts are proven at that block: they are written once, in it.
    if (spec.height > chain.head.height) throw new TillidError('NOT_FOUND', `no block at ${spec.height}`);
    block = await certifiedBlock(chain, spec.height);
    height = spec.height;
    root = block.header.stateRoot;
    timestamp = block.header.timestamp;
    transactions = block.transactions.map(transactionHash);
  } else {
    const head = chain.head;
    if (head.height === 0) throw new TillidError('NOT_FOUND', 'no finalized block yet');
    height = head.height;
    root = head.stateRoot;
    timestamp = head.timestamp;
  }
  // Evaluate and prove in one synchronous stretch, so the state cannot move in between; a value
  // committed after `root` (the store runs a moment ahead of the head) is caught by the proof.
  // Checked here, in that stretch: a commit raises `provableFrom` before it deletes anything.
  if (height < chain.provableFrom)
    throw new TillidError(
      'STATE_PRUNED',
      `the state at ${height} is pruned: this node proves heights from ${chain.provableFrom}`,
      { provableFrom: chain.provableFrom },
    );
  const recording = new RecordingState(reader);
  const value = evaluateRead(spec, recording, {
    genesis: chain.genesis,
    height,
    timestamp,
    ...(transactions ? { transactions } : {}),
  });
  const entries = [...recording.keys].sort().map((key) => {
    if (spec.kind === 'receipts') return proveAs(reader, root, key, reader.get(key));
    const proof = proveKey(reader, root, key);
    if (!('value' in proof) && reader.get(key) !== undefined)
      throw new StaleReadError(`${key} was written after ${root}`);
    return proof;
  });
  const latestSchedule = reader.get(SCHEDULE_KEY) as unknown as ScheduledSet[] | undefined;
  const schedule = proveAs(reader, root, SCHEDULE_KEY, scheduleAt(latestSchedule, height));
  block ??= await certifiedBlock(chain, height);
  if (block.header.stateRoot !== root) throw new StaleReadError('the head moved');
  const authorityChanges: AuthorityStep[] = [];
  for (const entry of authoritySchedule(reader, chain.genesis)) {
    if (entry.fromHeight <= 1 || entry.fromHeight > height) continue;
    const before = await certifiedBlock(chain, entry.fromHeight - 1);
    authorityChanges.push({
      header: before.header,
      certificate: before.certificate as NonNullable<Block['certificate']>,
      schedule: proveAs(
        reader,
        before.header.stateRoot,
        SCHEDULE_KEY,
        scheduleAt(latestSchedule, entry.fromHeight - 1),
      ),
    });
  }
  return {
    format: PROVEN_READ_FORMAT,
    read: spec,
    value,
    height,
    blockHash: blockHash(block.header),
    header: block.header,
    certificate: block.certificate as NonNullable<Block['certificate']>,
    schedule,
    entries,
    ...(transactions ? { transactions } : {}),
    authorityChanges,
  };
}

/** The proven answer to `spec` at the finalized head (a block's receipts: at that block). */
export async function proveRead(chain: Chain, spec: ReadSpec): Promise<ProvenRead> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt(chain, spec);
    } catch (e) {
      // The head moved under the read: take the new one. Blocks come every half second or more.
      if (!(e instanceof StaleReadError) || tries >= 20) throw e;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
