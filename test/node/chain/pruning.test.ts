/**
 * Pruning old state-tree versions (node/chain/pruning.ts) on the real LevelDB store: the trees of
 * the retained heights stay whole and prove, nothing else is left behind, a value set back to an
 * earlier one survives the pruning of the version it first belonged to, a proof below the
 * retention is refused with STATE_PRUNED, the root index (`R:`) goes with the roots' pages, and a proven read across an authority change still
 * verifies long after the header it cites fell out of the retention.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { Chain } from '../../../node/chain/chain.ts';
import { proveRead } from '../../../node/chain/prove.ts';
import { pruneHeight, staleIds, staleRecords } from '../../../node/chain/pruning.ts';
import { ChainStore, type Head } from '../../../node/chain/store.ts';
import { verifyChain } from '../../../node/chain/verify.ts';
import { validateConfig } from '../../../node/config.ts';
import type { Block } from '../../../node/protocol/block.ts';
import type { Json } from '../../../node/protocol/canonical.ts';
import { TillidError } from '../../../node/protocol/errors.ts';
import type { Hex } from '../../../node/protocol/hash.ts';
import { generateKeyPair, type KeyPair, Signer } from '../../../node/protocol/signature.ts';
import { signTransaction, type Transaction } from '../../../node/protocol/transaction.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { pageRefs } from '../../../node/state/commitment/pages.ts';
import { proveKey, stateProofProblem } from '../../../node/state/commitment/proof.ts';
import { verifyProvenRead } from '../../../node/state/commitment/proven-read.ts';
import { EMPTY_ROOT, type TreePageReader, updateTree } from '../../../node/state/commitment/tree.ts';
import { registry } from '../../../node/state/module.ts';
import { anchorModule } from '../../../node/state/modules/anchor.ts';
import { castOfCase, contractsGenesis } from '../../contracts.ts';
import { commitBlock } from '../../fixtures/commit.ts';
import { anchorTx, devGenesis, getJson, startTestNode, tempDir, waitFor } from '../../helpers.ts';

/** Every record (page) reachable from `root`, by id (pages.ts). */
function reachable(reader: TreePageReader, root: Hex, into = new Set<string>()): Set<string> {
  const stack = root === EMPTY_ROOT ? [] : [reader.rootRecord?.(root) ?? root];
  while (stack.length > 0) {
    const hash = stack.pop() as string;
    if (into.has(hash)) continue;
    const page = reader.treePage(hash);
    assert.ok(page, `page ${hash} under ${root} is in the store`);
    into.add(hash);
    stack.push(...pageRefs(page));
  }
  return into;
}

/** The ids of the tree pages stored under `P:` (by hash) and `H:` (by height and hash) in a closed store's directory. */
async function storedNodes(dir: string): Promise<Set<string>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const out = new Set<string>();
  for (const prefix of ['P', 'H'])
    for await (const key of db.keys({ gte: Buffer.from(`${prefix}:`), lt: Buffer.from(`${prefix};`) }))
      out.add(key.toString('hex', 2));
  await db.close();
  return out;
}

/** The `R:` root index of a closed store's directory, as the record ids it names (height, then hash). */
async function storedRootIndex(dir: string): Promise<Set<string>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const out = new Set<string>();
  for await (const [key, height] of db.iterator({ gte: Buffer.from('R:'), lt: Buffer.from('R;') }))
    out.add(height.toString('hex') + key.toString('hex', 2));
  await db.close();
  return out;
}

/** A deterministic stream of numbers in [0, 1), so a failure replays. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

test('with a retention of R heights, the last R + 1 trees stay whole and nothing else is left; values set back survive', async (t) => {
  // The last cases have keys enough for trees of several pages (state/commitment/pages.ts). Pages
  // keyed by height, by hash alone (the format before), and a store that changes format halfway
  // (a node upgraded over an existing data directory).
  for (const [seed, retention, keySpace, perBlock, format] of [
    [1, 1, 12, 6, 'height'],
    [2, 2, 12, 6, 'height'],
    [3, 4, 12, 6, 'height'],
    [4, 3, 400, 60, 'height'],
    [5, 2, 12, 6, 'hash'],
    [6, 3, 400, 60, 'hash'],
    [7, 2, 12, 6, 'upgrade'],
    [8, 3, 400, 60, 'upgrade'],
  ] as const) {
    const dir = tempDir(t);
    let store = await ChainStore.open(dir);
    const random = prng(seed);
    const roots: Hex[] = [EMPTY_ROOT];
    const values = new Map<string, Json>();
    for (let height = 1; height <= 30; height++) {
      // Few keys and few values: many writes set a key back to a value it had, re-creating nodes
      // that an earlier block took out of the tree.
      const writes = new Map<string, Json>();
      const count = 1 + Math.floor(random() * perBlock);
      for (let i = 0; i < count; i++)
        writes.set(`k${Math.floor(random() * keySpace)}`, Math.floor(random() * 3));
      const byHeight = format === 'height' || (format === 'upgrade' && height > 15);
      const tree = updateTree(store, roots[height - 1] as Hex, writes, byHeight ? height : undefined);
      const head: Head = { height, hash: `h${height}`, stateRoot: tree.root, timestamp: height };
      const block = { header: { height } } as unknown as Block;
      const due = pruneHeight(height, retention);
      await store.commit(block, writes, head, tree, {
        ...(due !== undefined ? { height: due } : {}),
        keep: new Set(),
      });
      roots.push(tree.root);
      for (const [k, v] of writes) values.set(k, v);
      assert.equal(store.provableFrom(), Math.max(1, height - retention));
    }
    await store.close();
    // Read back from disk only (a fresh store has an empty cache).
    store = await ChainStore.open(dir);
    const live = new Set<string>();
    for (let h = 30 - retention; h <= 30; h++) reachable(store, roots[h] as Hex, live);
    const reader = { get: (k: string) => store.get(k), treePage: (h: string) => store.treePage(h) };
    for (const key of values.keys()) {
      const proof = proveKey(reader, roots[30] as Hex, key);
      assert.equal(stateProofProblem(roots[30] as Hex, proof), undefined);
      assert.deepEqual(proof.value, values.get(key));
    }
    assert.equal(store.provableFrom(), 30 - retention);
    const liveRoots = new Set<string>();
    for (let h = 30 - retention; h <= 30; h++) {
      const id = store.rootRecord(roots[h] as Hex);
      if (id !== undefined) liveRoots.add(id);
    }
    await store.close();
    assert.deepEqual(
      [...(await storedNodes(dir))].sort(),
      [...live].sort(),
      `seed ${seed}: the store holds exactly the pages of heights ${30 - retention}..30`,
    );
    assert.deepEqual(
      [...(await storedRootIndex(dir))].sort(),
      [...liveRoots].sort(),
      `seed ${seed}: the root index names exactly the roots of heights ${30 - retention}..30`,
    );
    if (format !== 'hash') assert.ok(liveRoots.size > 0, 'roots keyed by height are indexed');
  }
});

test('stale lists of the format before (32 hash bytes a record) and of this one read back as the same record ids', () => {
  const byHash = 'ab'.repeat(32);
  const byHeight = `0000002a${'cd'.repeat(32)}`;
  assert.deepEqual(staleIds(staleRecords([byHash, byHeight], new Map())), [byHash, byHeight]);
  assert.deepEqual(staleIds(Buffer.from(byHash + 'ef'.repeat(32), 'hex')), [byHash, 'ef'.repeat(32)]);
  // A record the block wrote again itself is not stale.
  assert.equal(staleRecords([byHeight], new Map([[byHeight, new Uint8Array()]])).length, 0);
});

const anchors = registry([anchorModule]);

test('a chain with stateRetention proves receipts within it, refuses older ones with STATE_PRUNED, and still verifies', async (t) => {
  const authority = generateKeyPair();
  const genesis = devGenesis([authority]);
  const dir = tempDir(t);
  let chain = await Chain.open(dir, genesis, anchors, undefined, { stateRetention: 3 });
  const signers = () => [new Signer(authority)];
  for (let i = 0; i < 10; i++)
    await commitBlock(chain, authority.publicKey, [anchorTx(authority), anchorTx(authority)], signers);
  assert.equal(chain.provableFrom, 7);
  for (const height of [7, 10]) {
    const read = await proveRead(chain, { kind: 'receipts', height });
    assert.ok(verifyProvenRead(genesis, read).ok, `receipts at ${height} verify`);
  }
  await assert.rejects(
    proveRead(chain, { kind: 'receipts', height: 6 }),
    (e) => e instanceof TillidError && e.code === 'STATE_PRUNED' && e.status === 410,
  );
  await chain.close();
  // Reopened: the floor is remembered, pruning goes on, and the blocks replay in full.
  chain = await Chain.open(dir, genesis, anchors, undefined, { stateRetention: 3 });
  assert.equal(chain.provableFrom, 7);
  await commitBlock(chain, authority.publicKey, [anchorTx(authority)], signers);
  assert.equal(chain.provableFrom, 8);
  await chain.close();
  const store = await ChainStore.open(dir);
  const verdict = await verifyChain(
    { head: async () => store.head() ?? { height: 0, hash: '' }, block: (h) => store.getBlockJson(h) },
    genesis,
    anchors,
  );
  await store.close();
  assert.equal(verdict.ok, true);
  await assert.rejects(
    Chain.open(tempDir(t), genesis, anchors, undefined, { stateRetention: 0 }),
    /stateRetention/,
  );
});

test('a proven read across an authority change verifies long after that header left the retention', async (t) => {
  const cast = castOfCase();
  const genesis = contractsGenesis([cast.authority]);
  const chain = await Chain.open(tempDir(t), genesis, applicationModules(genesis), undefined, {
    stateRetention: 2,
  });
  const second = generateKeyPair();
  const keys = new Map<Hex, KeyPair>([
    [cast.authority.publicKey, cast.authority],
    [second.publicKey, second],
  ]);
  const block = (...txs: Transaction[]) =>
    commitBlock(chain, cast.authority.publicKey, txs, (height) =>
      chain
        .authoritiesAt(height)
        .sort()
        .map((a) => new Signer(keys.get(a) as KeyPair)),
    );
  await block(
    signTransaction(
      {
        chainId: genesis.chainId,
        type: 'governance.propose',
        payload: { action: 'add', name: 'Anden Kommune', cvr: '29189847', publicKey: second.publicKey },
        signer: cast.authority.publicKey,
        nonce: randomUUID(),
        expiresAt: chain.head.timestamp + 60_000,
      },
      cast.authority.privateKey,
    ),
  );
  const changeAt = chain.head.height + 2;
  for (let i = 0; i < 12; i++) await block();
  assert.ok(chain.provableFrom > changeAt, 'the header before the change is below the retention');
  const read = await proveRead(chain, { kind: 'events', after: 0, limit: 10 });
  assert.deepEqual(
    read.authorityChanges.map((s) => s.header.height),
    [changeAt - 1],
  );
  const verdict = verifyProvenRead(genesis, read);
  assert.ok(verdict.ok, JSON.stringify(verdict));
  await assert.rejects(
    proveRead(chain, { kind: 'receipts', height: changeAt - 1 }),
    (e) => e instanceof TillidError && e.code === 'STATE_PRUNED',
  );
  await chain.close();
});

test('a node configured with stateRetention answers a proof below it with 410 STATE_PRUNED, and proves within it', async (t) => {
  // A retention wide enough that the head cannot outrun a proof at it between two requests, even
  // on a loaded machine (blocks every 20 ms).
  const { url, genesis } = await startTestNode(t, { blockIntervalMs: 20, stateRetention: 30 });
  // Empty blocks come at the block pace; wait (bounded) until block 1 is below the retention.
  const head = await waitFor(async () => {
    const status = await getJson(`${url}/v1/status`);
    return status.height >= 35 ? (status.height as number) : undefined;
  }, 60_000);
  const pruned = await fetch(`${url}/v1/blocks/1/receipts?proof=true`);
  assert.equal(pruned.status, 410);
  const body = (await pruned.json()) as { code: string; details: { provableFrom: number } };
  assert.equal(body.code, 'STATE_PRUNED');
  assert.ok(body.details.provableFrom >= head - 30);
  const recent = await fetch(`${url}/v1/blocks/${head}/receipts?proof=true`);
  assert.equal(recent.status, 200);
  assert.ok(verifyProvenRead(genesis, await recent.json()).ok);
  assert.throws(
    () => validateConfig({ name: 'x', genesisFile: 'g', keyFile: 'k', dataDir: 'd', stateRetention: 0 }, '/'),
    /stateRetention/,
  );
});
