import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { Signer } from '../../../node/protocol/signature.ts';
import { signTransaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { signVote } from '../../../node/protocol/votes.ts';
import { executeBlock, receiptKey } from '../../../node/state/machine.ts';
import { equivocations } from '../../../node/state/modules/evidence.ts';
import { MemoryState } from '../../../node/state/overlay.ts';
import { rulesOf } from '../../fixtures/memory-chain.ts';
import { devGenesis, generateKeyPair } from '../../fixtures/node.ts';

const [reporter, offender, other] = [generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
const genesis = devGenesis([reporter as KeyPair, offender as KeyPair, other as KeyPair]);
const rules = rulesOf(genesis);
const prevote = (by: KeyPair, hash: string | null, round = 0) =>
  ({
    kind: 'vote',
    vote: signVote(
      { chainId: genesis.chainId, type: 'prevote', height: 5, round, blockHash: hash },
      new Signer(by),
    ),
  }) as const;
const report = (first: unknown, second: unknown, by = reporter as KeyPair) =>
  signTransaction(
    {
      chainId: genesis.chainId,
      type: 'evidence.equivocation',
      payload: { first, second } as never,
      signer: by.publicKey,
      nonce: crypto.randomUUID(),
      expiresAt: Date.now() + 60_000,
    },
    by.privateKey,
  );

function run(state: MemoryState, txs: ReturnType<typeof report>[], mode: 'propose' | 'validate' = 'propose') {
  const items = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
  const result = executeBlock(
    state,
    '00'.repeat(32),
    items,
    { chainId: genesis.chainId, height: 9, timestamp: Date.now(), proposer: reporter?.publicKey as string },
    rules,
    mode,
  );
  state.apply(result.writes);
  return {
    result,
    receipts: items.map((i) => state.get(receiptKey(i.hash)) as { code: string } | undefined),
  };
}

test('two conflicting signed prevotes are recorded once as evidence against their signer', () => {
  const state = new MemoryState();
  const first = report(
    prevote(offender as KeyPair, 'aa'.repeat(32)),
    prevote(offender as KeyPair, 'bb'.repeat(32)),
  );
  const again = report(
    prevote(offender as KeyPair, 'bb'.repeat(32)),
    prevote(offender as KeyPair, null),
    other as KeyPair,
  );
  const { receipts } = run(state, [first, again]);
  assert.deepEqual(
    receipts.map((r) => r?.code),
    ['OK', 'EVIDENCE_EXISTS'],
  );
  const [record] = equivocations(state);
  assert.equal(record?.authority, offender?.publicKey);
  assert.deepEqual(
    [record?.height, record?.round, record?.step, record?.reportedBy],
    [5, 0, 'prevote', reporter?.publicKey],
  );
});

test('evidence that proves nothing is refused before it reaches a block', () => {
  const forged = prevote(offender as KeyPair, 'cc'.repeat(32));
  const cases = [
    report(prevote(offender as KeyPair, 'aa'.repeat(32)), prevote(offender as KeyPair, 'aa'.repeat(32))), // agree
    report(prevote(offender as KeyPair, 'aa'.repeat(32)), prevote(other as KeyPair, 'bb'.repeat(32))), // two signers
    report(prevote(offender as KeyPair, 'aa'.repeat(32)), prevote(offender as KeyPair, 'bb'.repeat(32), 1)), // two rounds
    report(prevote(offender as KeyPair, 'aa'.repeat(32)), {
      ...forged,
      vote: { ...forged.vote, blockHash: 'dd'.repeat(32) },
    }), // forged
  ];
  const { result } = run(new MemoryState(), cases);
  assert.deepEqual(
    result.dropped.map((d) => d.error.code),
    ['TX_PAYLOAD_INVALID', 'TX_PAYLOAD_INVALID', 'TX_PAYLOAD_INVALID', 'TX_PAYLOAD_INVALID'],
  );
  const outsider = generateKeyPair();
  const { receipts } = run(new MemoryState(), [
    report(prevote(outsider, 'aa'.repeat(32)), prevote(outsider, 'bb'.repeat(32))),
  ]);
  assert.equal(receipts[0]?.code, 'TX_PAYLOAD_INVALID', 'the signer must have been an authority');
});
