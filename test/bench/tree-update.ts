/**
 * `npm run bench:tree`: the state tree's update alone (state/commitment/tree.ts `updateTree`), this
 * checkout against another one (`--root DIR`, e.g. `git worktree add /tmp/old <commit>` with its
 * node_modules linked), both loaded in one process and alternated block by block, so the two see
 * the same machine. A tree of --keys keys is grown in memory (pages in a map, as MemoryChainStore
 * keeps them), then --blocks blocks of --writes anchor-like writes (an anchor record and a receipt
 * each, fresh keys) are applied with the block's height, as a node applies them. Printed: the
 * thread CPU per block (quartiles) of each side and the ratio of the medians. Every block's root,
 * pages (byte for byte) and replaced records must be the same on both sides, else it stops: a
 * speed-up that changed the commitment is no speed-up.
 *
 *   npm run bench:tree -- --root DIR [--keys 100000] [--writes 1000] [--blocks 30]
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: resolve(import.meta.dirname, '../..') },
    keys: { type: 'string', default: '100000' },
    writes: { type: 'string', default: '1000' },
    blocks: { type: 'string', default: '30' },
  },
});
const KEYS = Number(values.keys);
const WRITES = Number(values.writes);
const BLOCKS = Number(values.blocks);
const roots = [resolve(values.root as string), resolve(import.meta.dirname, '../..')];

interface Update {
  root: string;
  tree: unknown;
  pages: Map<string, Uint8Array>;
  replaced: string[];
  rootRecord: string | undefined;
}
interface TreeModule {
  EMPTY_ROOT: string;
  updateTree(reader: unknown, root: string, writes: Map<string, unknown>, height?: number): Update;
}

function anchorWrites(height: number): Map<string, unknown> {
  const writes = new Map<string, unknown>();
  for (let j = 0; j < WRITES / 2; j++) {
    const hash = randomBytes(32).toString('hex');
    writes.set(`anchor/${hash}`, { docType: 'status-report', ref: 'urn:bench', height, txHash: hash });
    writes.set(`tx/${randomBytes(32).toString('hex')}`, { height, index: j, code: 'OK' });
  }
  return writes;
}

/** One checkout's tree, its pages in memory, the head's tree kept as a node keeps it. */
class Side {
  readonly dir: string;
  readonly module: TreeModule;
  readonly ms: number[] = [];
  readonly #pages = new Map<string, Uint8Array>();
  readonly #rootRecords = new Map<string, string>();
  #tree: unknown;
  root: string;
  constructor(dir: string, module: TreeModule) {
    this.dir = dir;
    this.module = module;
    this.root = module.EMPTY_ROOT;
  }
  readonly reader = {
    treePage: (id: string) => this.#pages.get(id),
    treeRoot: (root: string) => (root === this.root ? this.#tree : undefined),
    rootRecord: (root: string) => this.#rootRecords.get(root),
  };
  apply(height: number, writes: Map<string, unknown>): Update {
    const update = this.module.updateTree(this.reader, this.root, writes, height);
    for (const [id, page] of update.pages) this.#pages.set(id, page);
    if (update.rootRecord !== undefined) this.#rootRecords.set(update.root, update.rootRecord);
    this.#tree = update.tree;
    this.root = update.root;
    return update;
  }
}

const sides = await Promise.all(
  roots.map(async (dir) => new Side(dir, await import(join(dir, 'node/state/commitment/tree.ts')))),
);
const [old, now] = sides as [Side, Side];

function same(a: Update, b: Update, height: number): void {
  const problem =
    a.root !== b.root
      ? 'roots'
      : a.pages.size !== b.pages.size ||
          [...a.pages].some(([id, page]) => !Buffer.from(page).equals(Buffer.from(b.pages.get(id) ?? [])))
        ? 'pages'
        : a.replaced.join() !== b.replaced.join()
          ? 'replaced records'
          : undefined;
  if (problem) throw new Error(`block ${height}: the two checkouts' ${problem} differ`);
}

let height = 0;
for (let k = 0; k < KEYS; k += WRITES) {
  const writes = anchorWrites(++height);
  same(old.apply(height, writes), now.apply(height, writes), height);
}
for (let b = 0; b < BLOCKS; b++) {
  const writes = anchorWrites(++height);
  const updates = new Map<Side, Update>();
  // Alternate which goes first, so neither always runs on a warmer cache.
  for (const side of b % 2 === 0 ? [old, now] : [now, old]) {
    const before = process.threadCpuUsage();
    updates.set(side, side.apply(height, writes));
    const spent = process.threadCpuUsage(before);
    side.ms.push((spent.user + spent.system) / 1000);
  }
  same(updates.get(old) as Update, updates.get(now) as Update, height);
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const at = (xs: number[], q: number) => sorted(xs)[Math.floor(q * (xs.length - 1))] as number;
console.log(
  `bench:tree — updateTree over ${KEYS} keys, blocks of ${WRITES} writes, ${BLOCKS} blocks alternated; thread CPU ms per block (q1 / median / q3)`,
);
for (const side of [old, now])
  console.log(
    `  ${side.dir.padEnd(40)} ${at(side.ms, 0.25).toFixed(1)} / ${at(side.ms, 0.5).toFixed(1)} / ${at(side.ms, 0.75).toFixed(1)}`,
  );
console.log(`  this ÷ --root (medians)                  ${(at(now.ms, 0.5) / at(old.ms, 0.5)).toFixed(2)}×`);
