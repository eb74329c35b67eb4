import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import fc from 'fast-check';
import type { Json } from '../../../../node/protocol/canonical.ts';
import { canonicalBytes } from '../../../../node/protocol/canonical.ts';
import { pageRefs } from '../../../../node/state/commitment/pages.ts';
import { proveKey, stateProofProblem } from '../../../../node/state/commitment/proof.ts';
import { EMPTY_ROOT, updateTree } from '../../../../node/state/commitment/tree.ts';
import { MemoryState } from '../../../../node/state/overlay.ts';

/** The README's definition, written out from scratch over the whole key set: the reference. */
function referenceRoot(entries: ReadonlyMap<string, Json>): string {
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const leaves = [...entries].map(([k, v]) => ({
    kh: sha(Buffer.from(k, 'utf8')),
    vh: sha(Buffer.from(canonicalBytes(v))),
  }));
  const bit = (b: Buffer, i: number) => ((b[i >> 3] as number) >> (7 - (i & 7))) & 1;
  const node = (set: typeof leaves, depth: number): Buffer => {
    if (set.length === 0) return Buffer.alloc(32);
    if (set.length === 1) {
      const [only] = set as [(typeof leaves)[0]];
      return sha(Buffer.from([0]), only.kh, only.vh);
    }
    const left = set.filter((l) => bit(l.kh, depth) === 0);
    const right = set.filter((l) => bit(l.kh, depth) === 1);
    return sha(Buffer.from([1]), node(left, depth + 1), node(right, depth + 1));
  };
  return node(leaves, 0).toString('hex');
}

const state = (entries: [string, Json][]) => {
  const s = new MemoryState();
  s.apply(new Map(entries));
  return s;
};

test('test vectors: the README definition, pinned', () => {
  assert.equal(state([]).root, EMPTY_ROOT);
  assert.equal(EMPTY_ROOT, '0'.repeat(64));
  // One key: the root is its leaf, SHA-256(0x00 || SHA-256("a") || SHA-256("1")).
  assert.equal(state([['a', 1]]).root, '565388d4bc00257133f799d9366ac97f6e949c18acc53d17457f8859ba0f08d3');
  assert.equal(
    state([
      ['a', 1],
      ['b', { x: [true, null, 'y'] }],
    ]).root,
    '42998f712decb1456fea2ad8db8d84b9b00afadb423f9883b63bb146a45bd8d2',
  );
  assert.equal(
    state([
      ['event/7', 2],
      ['event/7/0', { id: '7-0', height: 7, type: 'payment.released' }],
      ['tx/00', { height: 7, index: 0, code: 'OK' }],
    ]).root,
    '7f19fac889fe8cc911431f17b5fe2a4e7a5ef265ceab747d6029313aa51d4874',
  );
  // Keys and values beyond ASCII hash as their UTF-8 bytes (a surrogate pair included).
  assert.equal(
    state([
      ['kommune/Århus', { navn: 'Ærø ø', tegn: '😀' }],
      ['b', 'ü'],
    ]).root,
    '887f0ed4457f1f994a3452687add21ce9c4000763d2374e9d9f3d33edfe2f7c9',
  );
});

const entriesArb = fc.uniqueArray(
  fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>),
  { selector: ([k]) => k, maxLength: 40 },
);
// fast-check's jsonValue includes -0 and fractions; state holds canonical JSON only.
const canonical = (v: Json): Json =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Math.trunc(x) || 0 : x)));

test('the root is the definition over the final key set, however the writes were split into blocks', () => {
  fc.assert(
    fc.property(entriesArb, fc.array(fc.nat(), { maxLength: 5 }), (raw, cuts) => {
      const entries = raw.map(([k, v]) => [k, canonical(v)] as [string, Json]);
      const s = new MemoryState();
      let from = 0;
      for (const cut of [
        ...cuts.map((c) => c % (entries.length + 1)).sort((a, b) => a - b),
        entries.length,
      ]) {
        s.apply(new Map(entries.slice(from, Math.max(from, cut))));
        from = Math.max(from, cut);
      }
      // Overwrites too: the last value counts.
      assert.equal(s.root, referenceRoot(new Map(entries)));
    }),
    { numRuns: 200 },
  );
});

test('every present key proves its value, every absent key proves absence', () => {
  fc.assert(
    fc.property(entriesArb, fc.array(fc.string({ maxLength: 12 }), { maxLength: 10 }), (raw, probes) => {
      const entries = new Map(raw.map(([k, v]) => [k, canonical(v)] as [string, Json]));
      const s = state([...entries]);
      for (const key of [...entries.keys(), ...probes]) {
        const proof = proveKey(s, s.root, key);
        assert.equal(stateProofProblem(s.root, proof), undefined);
        assert.deepEqual(proof.value, entries.get(key));
        assert.equal('value' in proof, entries.has(key));
      }
    }),
    { numRuns: 200 },
  );
});

test('any changed byte of a value or a proof fails', () => {
  fc.assert(
    fc.property(entriesArb, fc.string({ maxLength: 12 }), fc.nat(), fc.nat(), (raw, probe, at, by) => {
      const entries = new Map(raw.map(([k, v]) => [k, canonical(v)] as [string, Json]));
      const s = state([...entries]);
      const key =
        entries.size > 0 && at % 2 === 0 ? ([...entries.keys()][at % entries.size] as string) : probe;
      const text = JSON.stringify(proveKey(s, s.root, key));
      const i = at % text.length;
      const replacement = String.fromCharCode(32 + ((text.charCodeAt(i) - 32 + 1 + (by % 94)) % 95));
      const changed = text.slice(0, i) + replacement + text.slice(i + 1);
      let parsed: unknown;
      try {
        parsed = JSON.parse(changed);
      } catch {
        return; // not JSON any more: nothing to verify
      }
      // A change that leaves the same JSON value (e.g. inside insignificant whitespace) is no change.
      if (JSON.stringify(parsed) === text) return;
      // Re-encoding a value differently but canonically equal (e.g. 1 vs 1.0) is not a change either.
      const same = (() => {
        try {
          return Buffer.from(canonicalBytes(parsed)).equals(Buffer.from(canonicalBytes(JSON.parse(text))));
        } catch {
          return false;
        }
      })();
      if (same) return;
      // A changed key makes it a proof about another key, which the reader, asking about `key`,
      // rejects before checking (proofs are always checked for the key that was asked about).
      if ((parsed as { key?: unknown }).key !== key) return;
      assert.notEqual(stateProofProblem(s.root, parsed), undefined, `accepted ${changed}`);
    }),
    { numRuns: 1000 },
  );
});

test('a proof for another root fails, and a store missing a node fails loudly', () => {
  const a = state([
    ['a', 1],
    ['b', 2],
  ]);
  const b = state([
    ['a', 1],
    ['b', 3],
  ]);
  assert.notEqual(stateProofProblem(b.root, proveKey(a, a.root, 'a')), undefined);
  const { pages } = updateTree(a, a.root, new Map([['c', 4]]));
  assert.ok(pages.size > 0);
  assert.throws(() => updateTree(new MemoryState(), a.root, new Map([['c', 4]])), /missing from the store/);
});

/** Every stored record (page) reachable from `root`. */
function reachable(reader: MemoryState, root: string, into = new Set<string>()): Set<string> {
  if (root === EMPTY_ROOT) return into;
  into.add(root);
  for (const child of pageRefs(reader.treePage(root) as Uint8Array)) reachable(reader, child, into);
  return into;
}

test('an update names exactly the stored pages of the old tree that are not in the new one', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'anchor/1', 'tx/2');
  const writes = fc.array(fc.tuple(key, fc.integer({ min: 0, max: 3 })), { maxLength: 8 });
  fc.assert(
    fc.property(writes, writes, (before, block) => {
      const s = state(before);
      const { root, pages, replaced } = updateTree(s, s.root, new Map(block));
      const old = reachable(s, s.root);
      s.apply(new Map(block), { root, pages });
      const now = reachable(s, root);
      const gone = [...old].filter((h) => !now.has(h)).sort();
      // A rewrite to the value a key already has walks its path and recreates the same nodes.
      assert.deepEqual([...new Set(replaced)].filter((h) => !now.has(h)).sort(), gone);
      for (const h of replaced) assert.ok(old.has(h));
    }),
  );
});
