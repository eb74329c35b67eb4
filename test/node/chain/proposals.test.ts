/**
 * The open membership proposals a node lists (GET /v1/governance/proposals, for the console's
 * operator view): proposals the chain accepted and neither adopted nor let expire, found both from
 * blocks committed while the node runs and, on the first question, from the blocks before it —
 * over the real state machine and governance module on four authorities.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TransactionType } from '../../../client/payloads.ts';
import { transactions } from '../../../client/transactions.ts';
import type { CommittedBlock } from '../../../node/chain/chain.ts';
import { OpenProposalIndex } from '../../../node/chain/proposals.ts';
import type { Block } from '../../../node/protocol/block.ts';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import { type Transaction, transactionHash } from '../../../node/protocol/transaction.ts';
import { memoryChain } from '../../fixtures/memory-chain.ts';
import { devGenesis, generateKeyPair } from '../../fixtures/node.ts';

const members = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
const genesis = devGenesis(members);
const build = transactions(genesis.chainId);
const propose = (by: KeyPair, cvr: string, name: string) =>
  build.sign(
    by,
    'governance.propose' as TransactionType,
    { action: 'add', name, cvr, publicKey: generateKeyPair().publicKey } as never,
    { expiresAt: Date.now() + 60_000 },
  );
const vote = (by: KeyPair, proposal: string) =>
  build.sign(by, 'governance.vote' as TransactionType, { proposal } as never, {
    expiresAt: Date.now() + 60_000,
  });

/** The memory chain as the index sees a node's chain: its blocks, head, state and commits. */
function nodeChain() {
  const c = memoryChain(genesis);
  const blocks: Transaction[][] = [];
  const listeners: ((b: CommittedBlock) => void)[] = [];
  return {
    commit(...txs: Transaction[]) {
      c.block(...txs);
      blocks.push(txs);
      const included = txs.map((tx) => ({ tx, hash: transactionHash(tx) }));
      for (const l of listeners) l({ execution: { included } } as unknown as CommittedBlock);
    },
    chain: {
      get head() {
        return { height: c.height() } as never;
      },
      block: async (h: number) =>
        (blocks[h - 1] ? { transactions: blocks[h - 1] } : undefined) as unknown as Block | undefined,
      onCommit: (l: (b: CommittedBlock) => void) => listeners.push(l),
      readState: (k: string) => c.state.get(k),
    },
  };
}

test('open proposals: from blocks before the first question and after it; adopted ones and refusals leave', async () => {
  const n = nodeChain();
  const [a, b, c] = members as [KeyPair, KeyPair, KeyPair];
  const first = propose(a, '44444444', 'Egedal Kommune');
  n.commit(first);
  // A non-authority's proposal is refused by the chain: never listed.
  n.commit(propose(generateKeyPair(), '55555555', 'Furesø Kommune'));
  // The index starts here, as a node that restarted: the blocks above are found by its scan.
  const index = new OpenProposalIndex({ chain: n.chain as never });
  const second = propose(b, '66666666', 'Gladsaxe Kommune');
  n.commit(second, vote(b, transactionHash(first)));
  const open = await index.open();
  assert.deepEqual(
    open.map((p) => [p.authority.cvr, p.votes.length, p.status]),
    [
      ['44444444', 2, 'open'],
      ['66666666', 1, 'open'],
    ],
    'oldest first, each with its votes',
  );
  // A third vote is more than two thirds of four: adopted, so no longer open.
  n.commit(vote(c, transactionHash(first)));
  assert.deepEqual(
    (await index.open()).map((p) => p.authority.cvr),
    ['66666666'],
  );
  const third = propose(c, '77777777', 'Herlev Kommune');
  n.commit(third);
  assert.deepEqual(
    (await index.open()).map((p) => p.id),
    [transactionHash(second), transactionHash(third)],
  );
});
