import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { Chain } from '../../../node/chain/chain.ts';
import { ChainStore } from '../../../node/chain/store.ts';
import { verifyChain } from '../../../node/chain/verify.ts';
import type { Block } from '../../../node/protocol/block.ts';
import { Signer } from '../../../node/protocol/signature.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import {
  hexOfHash,
  recordHash,
  refNode,
  resolve,
  type TreeNode,
} from '../../../node/state/commitment/pages.ts';
import { proveKey, stateProofProblem } from '../../../node/state/commitment/proof.ts';
import { registry } from '../../../node/state/module.ts';
import { anchorModule } from '../../../node/state/modules/anchor.ts';
import { certify as certifyBy } from '../../fixtures/commit.ts';
import { anchorTx, devGenesis, generateKeyPair, tempDir } from '../../helpers.ts';

const modules = registry([anchorModule]);
const authority = generateKeyPair();
const signer = new Signer(authority);
const genesis = devGenesis([authority]);

const certify = (block: Block, by = signer): Block => certifyBy(block, [by]);

async function produce(chain: Chain, txCount: number): Promise<Block> {
  const txs = Array.from({ length: txCount }, () => anchorTx(authority)).map((tx) => ({
    tx,
    hash: transactionHash(tx),
  }));
  const { block, execution } = chain.propose(txs, chain.head.timestamp + 1000, authority.publicKey);
  const certified = certify(block);
  await chain.commit(certified, execution);
  return certified;
}

const storeSource = (store: ChainStore) => ({
  head: async () => store.head() ?? { height: 0, hash: '' },
  block: (h: number) => store.getBlockJson(h),
});

test('committed blocks and state survive closing and reopening the store', async (t) => {
  const dir = tempDir(t);
  const chain = await Chain.open(dir, genesis, modules);
  const b1 = await produce(chain, 3);
  await produce(chain, 2);
  const head = chain.head;
  await chain.close();
  const reopened = await Chain.open(dir, genesis, modules);
  assert.deepEqual(reopened.head, head);
  assert.equal(reopened.receipt(transactionHash(b1.transactions[0] as never))?.code, 'OK');
  assert.deepEqual(await reopened.block(1), b1);
  await reopened.close();
});

test('a store created under another genesis is refused', async (t) => {
  const dir = tempDir(t);
  await (await Chain.open(dir, genesis, modules)).close();
  await assert.rejects(Chain.open(dir, devGenesis([generateKeyPair()]), modules), /belongs to genesis/);
});

test('a block commits only with a valid certificate from the authorities', async (t) => {
  const chain = await Chain.open(tempDir(t), genesis, modules);
  const { block, execution } = chain.propose([], chain.head.timestamp + 1, authority.publicKey);
  await assert.rejects(chain.commit(block, execution), /no commit certificate/);
  await assert.rejects(
    chain.commit(certify(block, new Signer(generateKeyPair())), execution),
    /non-authority/,
  );
  const forged = certify(block);
  const badSig = {
    ...forged,
    certificate: {
      ...forged.certificate!,
      signatures: [{ authority: authority.publicKey, signature: 'aa'.repeat(64) }],
    },
  };
  await assert.rejects(chain.commit(badSig, execution), /bad certificate signature/);
  assert.equal(chain.head.height, 0);
  await chain.commit(forged, execution);
  assert.equal(chain.head.height, 1);
  await chain.close();
});

test('verifyChain accepts an honest store and names the height of a changed byte', async (t) => {
  const dir = tempDir(t);
  const chain = await Chain.open(dir, genesis, modules);
  for (let i = 0; i < 5; i++) await produce(chain, 2);
  await chain.close();

  let store = await ChainStore.open(dir);
  assert.deepEqual(await verifyChain(storeSource(store), genesis, modules), {
    ok: true,
    height: 5,
    headHash: store.head()?.hash,
  });
  const original = (await store.getBlockJson(3)) as string;
  await store.close();

  // Change one byte of the stored block 3 (a digit inside a transaction's payload hash).
  const i = original.indexOf('"hash":"') + 8;
  const tampered = original.slice(0, i) + (original[i] === 'a' ? 'b' : 'a') + original.slice(i + 1);
  const db = new ClassicLevel<string, string>(dir);
  await db.put('b:000000000003', tampered, { sync: true });
  await db.close();

  store = await ChainStore.open(dir);
  const verdict = await verifyChain(storeSource(store), genesis, modules);
  await store.close();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.height, 3);
});

test('with two authorities, one signature is not a quorum', async (t) => {
  const second = generateKeyPair();
  const twoAuthorities = devGenesis([authority, second]);
  const chain = await Chain.open(tempDir(t), twoAuthorities, modules);
  const { block, execution } = chain.propose([], chain.head.timestamp + 1, authority.publicKey);
  await assert.rejects(chain.commit(certify(block), execution), /1 of the 2 signatures needed/);
  await chain.close();
});

/** The pages a store holds keyed by height (`H:`), by record id. */
async function heightKeyedPages(db: ClassicLevel<Buffer, Buffer>): Promise<Map<string, Uint8Array>> {
  const pages = new Map<string, Uint8Array>();
  for await (const [key, page] of db.iterator({ gte: Buffer.from('H:'), lt: Buffer.from('H;') }))
    pages.set(key.toString('hex', 2), page);
  return pages;
}
/** Deletes the records of the format keyed by height: its pages (`H:`) and its root index (`R:`). */
async function dropHeightKeys(
  db: ClassicLevel<Buffer, Buffer>,
  batch: ReturnType<ClassicLevel<Buffer, Buffer>['batch']>,
): Promise<void> {
  for (const prefix of ['H', 'R'])
    for await (const key of db.keys({ gte: Buffer.from(`${prefix}:`), lt: Buffer.from(`${prefix};`) }))
      batch.del(key);
}
/** A page as the format before heights wrote it: references by hash alone (tag 3, not 4). */
function pageByHash(page: Uint8Array): Buffer {
  const out: number[] = [];
  for (let i = 0; i < page.length; ) {
    const tag = page[i++] as number;
    if (tag === 4) {
      out.push(3, ...page.subarray(i + 4, i + 36));
      i += 36;
      continue;
    }
    const size = tag === 0 ? 64 : tag === 3 ? 32 : 0;
    out.push(tag, ...page.subarray(i, i + size));
    i += size;
  }
  return Buffer.from(out);
}

test('a store from before heights (pages under their hash alone, `P:`) still proves old keys, extends the tree, and its next pages are keyed by height', async (t) => {
  const dir = tempDir(t);
  let chain = await Chain.open(dir, genesis, modules);
  const b1 = await produce(chain, 20);
  for (let i = 0; i < 3; i++) await produce(chain, 10);
  const oldRoot = chain.head.stateRoot;
  await chain.close();

  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const pages = await heightKeyedPages(db);
  assert.ok(pages.size > 5, 'the chain wrote tree pages keyed by height');
  const batch = db.batch();
  await dropHeightKeys(db, batch);
  for (const [id, page] of pages) {
    const height = Buffer.from(id.slice(0, 8), 'hex');
    batch.put(
      Buffer.concat([Buffer.from('P:'), Buffer.from(recordHash(id), 'hex')]),
      Buffer.concat([pageByHash(page), height]),
    );
  }
  await batch.write({ sync: true });
  assert.equal((await heightKeyedPages(db)).size, 0);
  await db.close();

  chain = await Chain.open(dir, genesis, modules);
  const receiptKey = `tx/${transactionHash(b1.transactions[0] as never)}`;
  const reader = { get: (k: string) => chain.readState(k), treePage: (h: string) => chain.treePage(h) };
  assert.equal(stateProofProblem(oldRoot, proveKey(reader, oldRoot, receiptKey)), undefined);
  await produce(chain, 10);
  // The new block's pages are keyed by height, and refer to the old ones by hash.
  assert.equal(
    stateProofProblem(chain.head.stateRoot, proveKey(reader, chain.head.stateRoot, receiptKey)),
    undefined,
  );
  await chain.close();
  const db2 = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const written = await heightKeyedPages(db2);
  await db2.close();
  assert.ok(written.size > 0 && [...written.keys()].every((id) => Number.parseInt(id.slice(0, 8), 16) === 5));
  const store = await ChainStore.open(dir);
  const verdict = await verifyChain(storeSource(store), genesis, modules);
  await store.close();
  assert.deepEqual(verdict, { ok: true, height: 5, headHash: verdict.ok ? verdict.headHash : '' });
});

test('a store from before pages (one node per record: `t:<hex>` text, or 65-byte `T:` before node heights) still proves old keys and extends the tree', async (t) => {
  const dir = tempDir(t);
  let chain = await Chain.open(dir, genesis, modules);
  const b1 = await produce(chain, 20);
  for (let i = 0; i < 3; i++) await produce(chain, 10);
  await chain.close();

  // Rewrite every page's nodes the way the versions before pages stored them, one node per
  // record, and drop the pages.
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const pages = await heightKeyedPages(db);
  const nodes = new Map<string, Buffer>();
  const collect = (node: TreeNode): void => {
    if (node.kind === 0)
      nodes.set(hexOfHash(node.h), Buffer.concat([Buffer.from([0]), node.keyHash, node.valueHash]));
    if (node.kind !== 1) return; // a reference: the node heads another page
    const bytes = (h: string) => Buffer.from(h, 'latin1');
    nodes.set(hexOfHash(node.h), Buffer.concat([Buffer.from([1]), bytes(node.left.h), bytes(node.right.h)]));
    collect(node.left);
    collect(node.right);
  };
  for (const id of pages.keys())
    collect(resolve({ treePage: (h) => pages.get(h) }, refNode(recordHash(id), id)));
  assert.ok(nodes.size > 50, 'the chain wrote tree pages');
  const batch = db.batch();
  await dropHeightKeys(db, batch);
  // Half as hex text (`t:`), half as the bare 65 bytes under `T:` (before records carried the
  // height that wrote them, for pruning).
  for (const [i, [hash, node]] of [...nodes].entries()) {
    if (i % 2 === 1) batch.put(Buffer.concat([Buffer.from('T:'), Buffer.from(hash, 'hex')]), node);
    else {
      const text = `${node[0] === 1 ? 'i' : 'l'}${node.toString('hex', 1)}`;
      batch.put(Buffer.from(`t:${hash}`, 'utf8'), Buffer.from(text, 'utf8'));
    }
  }
  await batch.write({ sync: true });
  await db.close();

  chain = await Chain.open(dir, genesis, modules);
  const receiptKey = `tx/${transactionHash(b1.transactions[0] as never)}`;
  const proof = proveKey(
    { get: (k) => chain.readState(k), treePage: (h) => chain.treePage(h) },
    chain.head.stateRoot,
    receiptKey,
  );
  assert.equal(stateProofProblem(chain.head.stateRoot, proof), undefined);
  // A new block's root, computed over the legacy nodes, is the one a full replay computes.
  await produce(chain, 10);
  await chain.close();
  const store = await ChainStore.open(dir);
  const verdict = await verifyChain(storeSource(store), genesis, modules);
  await store.close();
  assert.deepEqual(verdict, { ok: true, height: 5, headHash: verdict.ok ? verdict.headHash : '' });
});

test('a past root still proves after later blocks replaced its nodes', async (t) => {
  const chain = await Chain.open(tempDir(t), genesis, modules);
  const b1 = await produce(chain, 20);
  const root1 = chain.head.stateRoot;
  // Later blocks rewrite the paths above block 1's keys; the tree in memory moves on, the store
  // keeps the pages they replaced.
  for (let i = 0; i < 3; i++) await produce(chain, 10);
  assert.notEqual(chain.head.stateRoot, root1);
  const reader = { get: (k: string) => chain.readState(k), treePage: (h: string) => chain.treePage(h) };
  for (const tx of b1.transactions) {
    const proof = proveKey(reader, root1, `tx/${transactionHash(tx as never)}`);
    assert.equal(stateProofProblem(root1, proof), undefined);
    assert.notEqual(stateProofProblem(chain.head.stateRoot, proof), undefined);
  }
  await chain.close();
});
