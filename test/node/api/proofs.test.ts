/**
 * `?proof=true` reads against a real node, checked the way a municipality without a node would:
 * with nothing but the genesis (`verifyProvenRead`, and the `tillid proof verify` CLI on a file).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { verifyProvenRead } from '../../../node/state/commitment/proven-read.ts';
import { anchorTx, generateKeyPair, getJson, postJson, startTestNode, waitFor } from '../../helpers.ts';
import { tillid } from '../../process.ts';

test("proven reads: an anchor, its absence, a block's receipts and an event page verify against the genesis alone; a changed value does not", async (t) => {
  const { url, key, genesis, dir } = await startTestNode(t, { blockIntervalMs: 50 });
  const tx = anchorTx(key, genesis.chainId);
  const hash = transactionHash(tx);
  const sent = await postJson(`${url}/v1/transactions`, tx);
  assert.equal(sent.status, 202);
  const final = await waitFor(async () => {
    const view = await getJson(`${url}/v1/transactions/${hash}`);
    return view.status === 'finalized' ? view : undefined;
  });

  const anchor = await getJson(`${url}/v1/anchors/${tx.payload.hash}?proof=true`);
  const verdict = verifyProvenRead(genesis, anchor);
  assert.ok(verdict.ok, JSON.stringify(verdict));
  assert.equal((anchor.value as { txHash: string }).txHash, hash);
  assert.ok(anchor.height >= final.height);
  // The plain read is unchanged.
  assert.equal((await getJson(`${url}/v1/anchors/${tx.payload.hash}`)).txHash, hash);

  const forged = structuredClone(anchor);
  forged.value.docType = 'payment-decision';
  assert.equal(verifyProvenRead(genesis, forged).ok, false);
  const forgedEntry = structuredClone(anchor);
  forgedEntry.entries[0].value.docType = 'payment-decision';
  forgedEntry.value.docType = 'payment-decision';
  assert.equal(verifyProvenRead(genesis, forgedEntry).ok, false);
  const otherChain = {
    ...genesis,
    authorities: [{ ...genesis.authorities[0], publicKey: generateKeyPair().publicKey }],
  };
  assert.match(
    (verifyProvenRead(otherChain as typeof genesis, anchor) as { reason: string }).reason,
    /certificate signed by non-authority/,
  );

  const absent = await getJson(`${url}/v1/anchors/${'ab'.repeat(32)}?proof=true`);
  assert.equal(absent.value, null);
  assert.ok(verifyProvenRead(genesis, absent).ok);
  // Claiming the absent anchor exists, or hiding the present one, fails.
  assert.equal(verifyProvenRead(genesis, { ...absent, value: anchor.value }).ok, false);
  assert.equal(verifyProvenRead(genesis, { ...anchor, value: null }).ok, false);

  const receipts = await getJson(`${url}/v1/blocks/${final.height}/receipts?proof=true`);
  assert.ok(verifyProvenRead(genesis, receipts).ok);
  assert.equal(receipts.height, final.height);
  assert.deepEqual(receipts.value.receipts, [{ hash, index: 0, code: 'OK' }]);
  // A receipt moved to another height's header fails: the proof is for its own block.
  const shifted = { ...receipts, read: { kind: 'receipts', height: final.height + 1 } };
  assert.equal(verifyProvenRead(genesis, shifted).ok, false);

  const events = await getJson(`${url}/v1/events?after=0&limit=100&proof=true`);
  assert.ok(verifyProvenRead(genesis, events).ok);
  // Leaving out an entry the page needs fails (an omitted event cannot be hidden this way).
  const omitted = { ...events, entries: events.entries.slice(1) };
  assert.equal(verifyProvenRead(genesis, omitted).ok, false);
  const extra = { ...anchor, note: 'trust me' };
  assert.match((verifyProvenRead(genesis, extra) as { reason: string }).reason, /unknown field note/);

  const bad = await fetch(`${url}/v1/anchors/${tx.payload.hash}?proof=yes`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: string }).code, 'BAD_REQUEST');

  // The same, offline, from files.
  writeFileSync(join(dir, 'read.json'), JSON.stringify(anchor));
  writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
  const ok = await tillid([
    'proof',
    'verify',
    '--genesis',
    join(dir, 'genesis.json'),
    '--file',
    join(dir, 'read.json'),
  ]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^OK: anchor read, value proven at height \d+/);
  const no = await tillid([
    'proof',
    'verify',
    '--genesis',
    join(dir, 'genesis.json'),
    '--file',
    join(dir, 'forged.json'),
  ]);
  assert.equal(no.code, 1);
  assert.match(no.stdout, /^FAILED: the value is not what the proven state says/);
});
