import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chain } from '../../../node/chain/chain.ts';
import { MemoryChainStore } from '../../../node/chain/store.ts';
import {
  ChainApplication,
  MAX_CLOCK_DRIFT_MS,
  MAX_PROPOSAL_BYTES,
} from '../../../node/consensus/tendermint/chain-application.ts';
import { Mempool } from '../../../node/mempool/mempool.ts';
import { transactionHash } from '../../../node/protocol/transaction.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { anchorTx, devGenesis, generateKeyPair } from '../../helpers.ts';

test('a proposed block timestamped beyond the allowed clock drift is not voted for', async () => {
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  const genesis = devGenesis([a, b], 1_000_000);
  const chain = await Chain.openStorage(new MemoryChainStore(), genesis, applicationModules(genesis));
  let clock = 2_000_000;
  const mempool = new Mempool({ maxTransactions: 10, maxBytes: 1 << 20 });
  const proposer = new ChainApplication({ chain, mempool, proposer: a.publicKey, now: () => clock });
  const voter = new ChainApplication({ chain, mempool, proposer: b.publicKey, now: () => 2_000_000 });
  assert.equal(voter.isValidBlock(proposer.proposeBlock(1, 0)), true);
  clock = 2_000_000 + MAX_CLOCK_DRIFT_MS + 1;
  assert.equal(voter.isValidBlock(proposer.proposeBlock(1, 1)), false, 'a proposer running ahead is refused');
});

test('a proposal carries at most MAX_PROPOSAL_BYTES of transactions, oldest first; the rest wait for the next block', async () => {
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  const genesis = devGenesis([a, b], 1_000_000);
  const chain = await Chain.openStorage(new MemoryChainStore(), genesis, applicationModules(genesis));
  const mempool = new Mempool({ maxTransactions: 10_000, maxBytes: 64 << 20 });
  // Admission records each transaction's size; a large one stands for many small ones.
  const big = MAX_PROPOSAL_BYTES / 4;
  const txs = Array.from({ length: 6 }, () =>
    anchorTx(a, genesis.chainId, { expiresAt: 2_000_000 + 60_000 }),
  );
  for (const tx of txs) mempool.add({ tx, hash: transactionHash(tx) }, big);
  const proposer = new ChainApplication({ chain, mempool, proposer: a.publicKey, now: () => 2_000_000 });
  const block = proposer.proposeBlock(1, 0);
  assert.deepEqual(
    block.transactions.map((t) => transactionHash(t)),
    txs.slice(0, 4).map((t) => transactionHash(t)),
    'four quarter-MiB transactions fill a proposal; the fifth waits',
  );
  // A single transaction larger than the budget still goes in, alone, so nothing is stuck.
  const lone = new Mempool({ maxTransactions: 10, maxBytes: 64 << 20 });
  lone.add(
    { tx: txs[5] as (typeof txs)[number], hash: transactionHash(txs[5] as (typeof txs)[number]) },
    2 * MAX_PROPOSAL_BYTES,
  );
  assert.equal(lone.peek(100, MAX_PROPOSAL_BYTES).length, 1);
});
