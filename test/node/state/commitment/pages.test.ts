/**
 * The state tree's storage (node/state/commitment/pages.ts): a tree read back from its stored pages
 * alone — as after a restart — gives the same roots, the same pages and the same proofs as the tree
 * held in memory; an update names exactly the pages that leave the tree; a damaged page is refused.
 * Trees here are large enough for several levels of pages.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { Json } from '../../../../node/protocol/canonical.ts';
import type { Hex } from '../../../../node/protocol/hash.ts';
import { PAGE_LEVELS, pageRefs } from '../../../../node/state/commitment/pages.ts';
import { proveKey, stateProofProblem } from '../../../../node/state/commitment/proof.ts';
import { EMPTY_ROOT, provePath, updateTree } from '../../../../node/state/commitment/tree.ts';
import { MemoryState } from '../../../../node/state/overlay.ts';

/** The same store without the tree in memory: every read goes through the stored pages. */
const pagesOnly = (s: MemoryState) => ({
  get: (k: string) => s.get(k),
  treePage: (id: string) => s.treePage(id),
  rootRecord: (root: Hex) => s.rootRecord(root),
});

/** The ids of the records reachable from the record `id` (a root's hash, or its record's id). */
function reachable(s: MemoryState, id: string, into = new Set<string>()): Set<string> {
  if (id === EMPTY_ROOT || into.has(id)) return into;
  into.add(id);
  const page = s.treePage(id);
  assert.ok(page, `page ${id} is stored`);
  for (const child of pageRefs(page)) reachable(s, child, into);
  return into;
}
const rootId = (s: MemoryState): string => s.rootRecord(s.root) ?? s.root;

const blocks = fc.array(
  fc.array(fc.tuple(fc.integer({ min: 0, max: 399 }), fc.integer({ min: 0, max: 2 })), {
    minLength: 1,
    maxLength: 120,
  }),
  { minLength: 2, maxLength: 5 },
);
const asWrites = (block: [number, number][]): Map<string, Json> =>
  new Map(block.map(([k, v]) => [`key/${k}`, v]));

for (const keyed of ['by height and hash', 'by hash alone (the format before)'])
  test(`a tree read from its pages alone updates, proves and names replaced pages exactly as the tree in memory (records keyed ${keyed})`, () => {
    fc.assert(
      fc.property(blocks, (list) => {
        const s = new MemoryState();
        for (const [i, block] of list.entries()) {
          const writes = asWrites(block);
          const height = keyed.startsWith('by height') ? i + 1 : undefined;
          const fromMemory = updateTree(s, s.root, writes, height);
          const fromPages = updateTree(pagesOnly(s), s.root, writes, height);
          assert.equal(fromPages.root, fromMemory.root);
          assert.deepEqual(
            [...fromPages.pages].sort(([a], [b]) => a.localeCompare(b)),
            [...fromMemory.pages].sort(([a], [b]) => a.localeCompare(b)),
          );
          assert.deepEqual([...fromPages.replaced].sort(), [...fromMemory.replaced].sort());
          const old = reachable(s, rootId(s));
          s.apply(writes, fromMemory);
          const now = reachable(s, rootId(s));
          assert.deepEqual(
            [...new Set(fromMemory.replaced)].filter((h) => !now.has(h)).sort(),
            [...old].filter((h) => !now.has(h)).sort(),
          );
        }
        for (let k = 0; k < 400; k += 7) {
          const key = `key/${k}`;
          const memory = proveKey(s, s.root, key);
          assert.deepEqual(proveKey(pagesOnly(s), s.root, key), memory);
          assert.equal(stateProofProblem(s.root, memory), undefined);
          assert.equal('value' in memory, s.get(key) !== undefined);
        }
      }),
      { numRuns: 25 },
    );
  });

test('pages hold at most PAGE_LEVELS levels: a tree of 3,000 keys is stored in several levels of pages', () => {
  const s = new MemoryState();
  const writes = new Map<string, Json>();
  for (let k = 0; k < 3000; k++) writes.set(`key/${k}`, k);
  s.apply(writes);
  const records = reachable(s, s.root);
  // About one page per 16 subtrees at each level of 4: far fewer records than the 6,000 nodes.
  assert.ok(records.size > 16 && records.size < 3000 / 2, `${records.size} pages`);
  assert.equal(PAGE_LEVELS, 4);
  // The path of a key crosses one page per PAGE_LEVELS levels.
  const path = provePath(pagesOnly(s), s.root, 'key/1');
  assert.ok(path.present && path.siblings.length > PAGE_LEVELS);
});

test('a damaged or missing page is refused, never read as a state', () => {
  const s = new MemoryState();
  const writes = new Map<string, Json>();
  for (let k = 0; k < 500; k++) writes.set(`key/${k}`, k);
  s.apply(writes);
  const root = s.root;
  const page = s.treePage(root) as Uint8Array;
  for (const at of [0, 1, page.length - 1]) {
    const damaged = Buffer.from(page);
    damaged[at] = (damaged[at] as number) ^ 1;
    const reader = {
      get: (k: string) => s.get(k),
      treePage: (h: Hex) => (h === root ? damaged : s.treePage(h)),
    };
    assert.throws(() => proveKey(reader, root, 'key/1'), /malformed/);
    assert.throws(() => updateTree(reader, root, new Map([['key/1', 2]])), /malformed/);
  }
  const child = pageRefs(page)[0] as Hex;
  const missing = {
    get: (k: string) => s.get(k),
    treePage: (h: Hex) => (h === child ? undefined : s.treePage(h)),
  };
  assert.throws(() => {
    for (let k = 0; k < 500; k++) proveKey(missing, root, `key/${k}`);
  }, /missing from the store/);
});
