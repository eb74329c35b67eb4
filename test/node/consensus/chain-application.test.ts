import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chain } from '../../../node/chain/chain.ts';
import { MemoryChainStore } from '../../../node/chain/store.ts';
import {
  ChainApplication,
  MAX_CLOCK_DRIFT_MS,
} from '../../../node/consensus/tendermint/chain-application.ts';
import { Mempool } from '../../../node/mempool/mempool.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { devGenesis, generateKeyPair } from '../../helpers.ts';

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
