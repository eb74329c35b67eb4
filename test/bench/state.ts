/**
 * `npm run bench:state`: what the state tree costs a block, on the real store (LevelDB, fsync'ed
 * batches), against the chained hash of sorted writes it replaced (the old code's state root,
 * computed here) as the same-run baseline.
 *
 * The store is grown to --keys state keys (anchors and their receipts, in blocks of --writes).
 * Then --blocks more blocks of --writes fresh keys are committed twice each, alternating: once the
 * new way (tree update, the block's new tree pages in the batch) and once the old way (chained
 * hash, no tree pages), each into its own store holding the same state. Per block it reports the
 * median CPU time (this process, all threads: LevelDB writes on the thread pool too) of the state
 * root and of the commit, the tree records written (pages keyed by height, as a node writes them, and
 * the root's `R:` index record) and the bytes the tree adds to the store;
 * then the process's memory, and the first blocks after reopening the store (a restart).
 *
 *   npm run bench:state -- [--keys 100000] [--writes 1000] [--blocks 20]
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type ChainStorage, ChainStore, type Head } from '../../node/chain/store.ts';
import type { Block } from '../../node/protocol/block.ts';
import type { Json } from '../../node/protocol/canonical.ts';
import { canonicalHash, type Hex, sha256Hex } from '../../node/protocol/hash.ts';
import { EMPTY_ROOT, type TreeNode, updateTree } from '../../node/state/commitment/tree.ts';
import { tempDirPlain } from './util.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    writes: { type: 'string', default: '1000' },
    blocks: { type: 'string', default: '20' },
  },
});
const KEYS = Number(values.keys);
const WRITES = Number(values.writes);
const BLOCKS = Number(values.blocks);

/** A block's writes as an anchor block makes them: an anchor record and a receipt per anchor. */
function anchorWrites(height: number): Map<string, Json> {
  const writes = new Map<string, Json>();
  for (let j = 0; j < WRITES / 2; j++) {
    const hash = randomBytes(32).toString('hex');
    writes.set(`anchor/${hash}`, { docType: 'status-report', ref: 'urn:bench', height, txHash: hash });
    writes.set(`tx/${randomBytes(32).toString('hex')}`, { height, index: j, code: 'OK' });
  }
  return writes;
}

/** The old code's state root: the previous root chained with the hash of the sorted writes. */
function chainedRoot(previous: Hex, writes: ReadonlyMap<string, Json>): Hex {
  const sorted = [...writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(`${previous}${canonicalHash(sorted)}`);
}

const emptyBlock = (height: number, stateRoot: Hex): Block =>
  ({
    header: {
      chainId: 'bench',
      height,
      timestamp: height,
      proposer: '',
      parentHash: '',
      txRoot: '',
      stateRoot,
    },
    transactions: [],
    certificate: null,
  }) as unknown as Block;

interface Side {
  readonly store: ChainStorage;
  root: Hex;
  readonly rootMs: number[];
  readonly commitMs: number[];
  nodes: number;
  nodeBytes: number;
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

async function commit(side: Side, tree: boolean, height: number, writes: Map<string, Json>): Promise<void> {
  let c = process.cpuUsage();
  let pages: ReadonlyMap<Hex, Uint8Array> = new Map();
  let replaced: Hex[] = [];
  let memory: TreeNode | undefined;
  let rootRecord: string | undefined;
  if (tree) {
    // With the block's height, as a node writes them: `H:` records keyed by height and hash.
    const update = updateTree(side.store, side.root, writes, height);
    side.root = update.root;
    pages = update.pages;
    replaced = update.replaced;
    memory = update.tree;
    rootRecord = update.rootRecord;
  } else side.root = chainedRoot(side.root, writes);
  side.rootMs.push(cpuMs(c));
  c = process.cpuUsage();
  const head: Head = { height, hash: side.root, stateRoot: side.root, timestamp: height };
  await side.store.commit(emptyBlock(height, side.root), writes, head, {
    pages,
    replaced,
    rootRecord,
    ...(memory ? { tree: memory } : {}),
  });
  side.commitMs.push(cpuMs(c));
  side.nodes += pages.size;
  // A stored page (store.ts): the 38-byte key (`H:`, height, hash) and the page. Then the root's
  // `R:` record: the 34-byte key and the 4-byte height.
  for (const page of pages.values()) side.nodeBytes += 38 + page.length;
  if (rootRecord !== undefined && pages.has(rootRecord)) {
    side.nodes += 1;
    side.nodeBytes += 38;
  }
}

const dirs = [tempDirPlain('tillid-bench-state-'), tempDirPlain('tillid-bench-state-')];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const open = async (dir: string): Promise<Side> => ({
  store: await ChainStore.open(dir),
  root: EMPTY_ROOT,
  rootMs: [],
  commitMs: [],
  nodes: 0,
  nodeBytes: 0,
});
const treeSide = await open(dirs[0] as string);
const oldSide = await open(dirs[1] as string);

let height = 0;
for (let k = 0; k < KEYS; k += WRITES) {
  const writes = anchorWrites(++height);
  await commit(treeSide, true, height, writes);
  await commit(oldSide, false, height, writes);
}
for (const side of [treeSide, oldSide]) {
  side.rootMs.length = 0;
  side.commitMs.length = 0;
  side.nodes = 0;
  side.nodeBytes = 0;
}
for (let b = 0; b < BLOCKS; b++) {
  const writes = anchorWrites(++height);
  // Alternate which goes first, so neither always runs on a warmer machine.
  const order = b % 2 === 0 ? [true, false] : [false, true];
  for (const tree of order) await commit(tree ? treeSide : oldSide, tree, height, writes);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const line = (label: string, side: Side) => {
  const root = median(side.rootMs);
  const stored = median(side.commitMs);
  return { label, root, stored, total: root + stored };
};
const t = line('tree', treeSide);
const o = line('old (chained hash)', oldSide);
console.log(
  `state: ${KEYS} keys before, blocks of ${WRITES} writes (${WRITES / 2} anchors and their receipts), median of ${BLOCKS}, CPU ms per block`,
);
for (const r of [t, o])
  console.log(
    `  ${r.label.padEnd(20)} root ${r.root.toFixed(1).padStart(6)}  commit ${r.stored.toFixed(1).padStart(6)}  total ${r.total.toFixed(1).padStart(6)}`,
  );
console.log(
  `  tree ÷ old           ${(t.total / o.total).toFixed(2)}×   tree records written ${(treeSide.nodes / BLOCKS).toFixed(0)} per block (${(treeSide.nodes / BLOCKS / WRITES).toFixed(1)} per write, ${(treeSide.nodeBytes / BLOCKS / WRITES) | 0} bytes per write)`,
);
// Memory: the head's tree is held in memory (state/commitment/pages.ts), so the process grows with
// the state: measured here, with the old side's store open too.
console.log(
  `  memory: RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, JS heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB with the tree of ${KEYS + BLOCKS * WRITES} keys in memory`,
);
await oldSide.store.close();
// A restart: the tree is not rebuilt, its pages are read as blocks and proofs walk into them.
await treeSide.store.close();
const c = process.cpuUsage();
const reopened: Side = {
  ...treeSide,
  store: await ChainStore.open(dirs[0] as string),
  rootMs: [],
  commitMs: [],
};
const openMs = cpuMs(c);
for (let b = 0; b < 3; b++) await commit(reopened, true, ++height, anchorWrites(height));
console.log(
  `  restart: open ${openMs.toFixed(1)} ms, then blocks of ${WRITES} writes ${reopened.rootMs.map((m, i) => (m + (reopened.commitMs[i] as number)).toFixed(1)).join(', ')} CPU ms (the first reads its pages from the store)`,
);
await reopened.store.close();
