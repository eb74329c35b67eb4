/**
 * Signature verdicts cached once per node (protocol/verdicts.ts): a co-signature is verified once,
 * and a block's outcome is the same with a warm cache, a cold one, or none. The same for the
 * content checks' memo (personal-data scan, payload check).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Hex, sha256Hex } from '../../../node/protocol/hash.ts';
import { generateKeyPair, Signer, signingMessage } from '../../../node/protocol/signature.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { CheckedPayloads, VerifiedSignatures } from '../../../node/protocol/verdicts.ts';
import {
  executeBlock,
  type Receipt,
  type Rules,
  receiptKey,
  statelessProblem,
} from '../../../node/state/machine.ts';
import { StateOverlay } from '../../../node/state/overlay.ts';
import { CARE_HOME_CVR, caseOnMemoryChain, rulesOf } from '../../fixtures/contracts.ts';

test('a co-signature verdict is remembered by (transaction, index); an invalid one is never remembered', () => {
  const key = generateKeyPair();
  const hash = sha256Hex(new TextEncoder().encode('a transaction'));
  const message = signingMessage('cosign', hash);
  const signature = new Signer(key).sign(message);
  const verdicts = new VerifiedSignatures(2);
  const wrong = signingMessage('cosign', sha256Hex(new TextEncoder().encode('other')));
  assert.equal(verdicts.cosignatureValid(hash, 0, key.publicKey, wrong, signature), false);
  assert.equal(verdicts.size, 0);
  assert.equal(verdicts.cosignatureValid(hash, 0, key.publicKey, message, signature), true);
  assert.equal(verdicts.size, 1);
  // Remembered: the second check is a lookup (the hash fixes what was signed, so it cannot differ).
  assert.equal(verdicts.cosignatureValid(hash, 0, key.publicKey, message, signature), true);
  assert.equal(verdicts.size, 1);
  // Another signature under the same slot is checked, not taken from the cache.
  const other = new Signer(generateKeyPair()).sign(message);
  assert.equal(verdicts.cosignatureValid(hash, 0, key.publicKey, message, other), false);
  // Bounded: the oldest verdict goes first.
  verdicts.remember('aa' as Hex, 'bb');
  verdicts.remember('cc' as Hex, 'dd');
  assert.equal(verdicts.size, 2);
});

test('a block with co-signed motions has the same outcome with no cache, a cold cache and a warm one', () => {
  const { cast, genesis, chain, b, template } = caseOnMemoryChain();
  const create = b.create(cast.caseworker, {
    template,
    provider: CARE_HOME_CVR,
    start: '2026-02-01',
    months: 12,
    reportEveryMonths: 3,
    items: [{ code: 'residential', monthly: 4_500_000 }],
  } as never);
  assert.equal(chain.block(create)[0]?.code, 'OK');
  const id = transactionHash(create);
  const good = b.proposeCosigned(cast.caseworker, id, 'activate', [cast.careHomeRep]);
  const forged = b.sign(cast.submitter, 'contract.propose', { ...good.payload, reason: 'other' });
  const items = [forged, good].map((tx) => ({ tx, hash: transactionHash(tx) }));
  const ctx = {
    chainId: genesis.chainId,
    height: chain.height() + 1,
    timestamp: Date.now(),
    proposer: cast.authority.publicKey,
  };
  const run = (verdicts?: VerifiedSignatures) => {
    const rules = verdicts
      ? { ...rulesOf(genesis), cosignatureValid: verdicts.cosignatureValid }
      : rulesOf(genesis);
    const execution = executeBlock(chain.state, chain.root(), items, ctx, rules, 'validate');
    const state = new StateOverlay(chain.state);
    for (const [k, v] of execution.writes) state.set(k, v);
    const codes = items.map((i) => (state.get(receiptKey(i.hash)) as unknown as Receipt).code);
    return { root: execution.stateRoot, codes };
  };
  const uncached = run();
  assert.deepEqual(uncached.codes, ['COSIGNATURE_INVALID', 'OK']);
  const verdicts = new VerifiedSignatures();
  assert.deepEqual(run(verdicts), uncached);
  // Only the valid co-signature was remembered; the forged one is checked again every time.
  assert.equal(verdicts.size, 1);
  assert.deepEqual(run(verdicts), uncached);
  assert.equal(verdicts.size, 1);
});

test('content checks remembered by hash: the same block outcome with no memo, a cold one and a warm one; only passes kept', () => {
  const { cast, genesis, chain, b, template } = caseOnMemoryChain();
  const terms = {
    template,
    provider: CARE_HOME_CVR,
    start: '2026-02-01',
    months: 12,
    reportEveryMonths: 3,
    items: [{ code: 'residential', monthly: 4_500_000 }],
  };
  const txs = [
    b.create(cast.caseworker, terms as never),
    // A CPR number in a line item's code: the personal-data scan rejects it.
    b.create(cast.caseworker, { ...terms, items: [{ code: '0101901234', monthly: 1 }] } as never),
    // A start on the 30th: the action's payload check rejects it.
    b.create(cast.caseworker, { ...terms, start: '2026-01-30' } as never),
    b.create(cast.caseworker, { ...terms, months: 6 } as never),
  ];
  const items = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
  const ctx = {
    chainId: genesis.chainId,
    height: chain.height() + 1,
    timestamp: Date.now(),
    proposer: cast.authority.publicKey,
  };
  const run = (checkedPayloads?: CheckedPayloads) => {
    const rules: Rules = { ...rulesOf(genesis), ...(checkedPayloads ? { checkedPayloads } : {}) };
    const execution = executeBlock(chain.state, chain.root(), items, ctx, rules, 'propose');
    return {
      root: execution.stateRoot,
      included: execution.included.map((i) => i.hash),
      dropped: execution.dropped.map((d) => [d.item.hash, d.error.code, d.error.message]),
    };
  };
  const uncached = run();
  assert.deepEqual(
    uncached.dropped.map(([, code]) => code),
    ['PII_REJECTED', 'TX_PAYLOAD_INVALID'],
  );
  assert.equal(uncached.included.length, 2);
  const memo = new CheckedPayloads();
  assert.deepEqual(run(memo), uncached);
  // Only the two that passed are remembered; the rejected ones are checked (and rejected) again.
  assert.equal(memo.size, 2);
  assert.deepEqual(run(memo), uncached);
  assert.equal(memo.size, 2);
  // Filled on admission (the same rule with the node's clock), then used by the block.
  const admitted = new CheckedPayloads();
  for (const item of items)
    statelessProblem(item, ctx.timestamp, {
      ...rulesOf(genesis),
      checkedPayloads: admitted,
      signatureValid: () => true,
    });
  assert.deepEqual(
    items.map((i) => admitted.has(i.hash)),
    [true, false, false, true],
  );
  assert.deepEqual(run(admitted), uncached);
  // The memo covers the content only: an expired transaction is refused with a warm memo too.
  const [first] = items as [(typeof items)[0]];
  assert.equal(
    statelessProblem(first, first.tx.expiresAt + 1, { ...rulesOf(genesis), checkedPayloads: admitted })?.code,
    'TX_EXPIRED',
  );
  // Bounded: the oldest pass goes first.
  const small = new CheckedPayloads(1);
  small.add('aa' as Hex);
  small.add('bb' as Hex);
  assert.deepEqual([small.size, small.has('aa' as Hex), small.has('bb' as Hex)], [1, false, true]);
});
