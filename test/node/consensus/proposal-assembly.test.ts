/**
 * Proposals name their transactions by hash (protocol 2). The compact form keeps the proposer's
 * signature valid and is judged before anything is fetched; a node completes a proposal from its
 * mempool, fetches only what it lacks (proposer first), ignores a peer that answers with other or
 * forged transactions, gives up — so the engine prevotes nil — when nobody has them, and never
 * fetches for a height beyond the one being decided.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compactProposal,
  compactSignatureValid,
  decodeCompactProposal,
} from '../../../node/consensus/compact-proposal.ts';
import {
  type AssemblyPorts,
  MAX_JOBS,
  MAX_PEERS_ASKED,
  ProposalAssembly,
} from '../../../node/consensus/proposal-assembly.ts';
import { signProposal } from '../../../node/consensus/tendermint/messages.ts';
import { blockHash } from '../../../node/protocol/block.ts';
import type { Hex } from '../../../node/protocol/hash.ts';
import { merkleRoot } from '../../../node/protocol/merkle.ts';
import { Signer, verifySignature } from '../../../node/protocol/signature.ts';
import {
  type Transaction,
  transactionHash,
  transactionSignatureValid,
} from '../../../node/protocol/transaction.ts';
import { anchorTx, generateKeyPair } from '../../fixtures/node.ts';

const proposerKey = generateKeyPair();
const signer = new Signer(proposerKey);
const submitter = generateKeyPair();

function proposalWith(transactions: Transaction[], height = 5, round = 0) {
  const header = {
    chainId: 'tillid-test',
    height,
    parentHash: 'a'.repeat(64),
    txRoot: merkleRoot(transactions.map((tx) => transactionHash(tx))),
    stateRoot: 'b'.repeat(64),
    proposer: signer.publicKey,
    timestamp: 1_700_000_000_000,
  };
  return signProposal(
    {
      chainId: 'tillid-test',
      height,
      round,
      block: { header, transactions, certificate: null },
      validRound: -1,
    },
    signer,
  );
}

/** An assembly over a fake mempool and fake peers: `served` says what each peer answers. */
function harness(o: {
  pending: Transaction[];
  served: Record<string, Transaction[] | Error>;
  head?: number;
  graceMs?: number;
}) {
  const mempool = new Map(o.pending.map((tx) => [transactionHash(tx), tx]));
  const delivered: Transaction[][] = [];
  const asked: { peer: string; hashes: readonly Hex[] }[] = [];
  const outcomes: string[] = [];
  const fetched: Record<string, number> = {};
  /** Seconds each delivered proposal took to be made whole, on the stage clock `clock.now`. */
  const assemblySeconds: number[] = [];
  const clock = { now: 0 };
  let head = o.head ?? 4;
  const ports: AssemblyPorts = {
    stages: {
      observe: (stage, seconds) => {
        assert.equal(stage, 'assembly');
        assemblySeconds.push(seconds);
      },
    },
    clock: () => clock.now,
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    pending: (h) => mempool.get(h),
    head: () => head,
    round: () => 0,
    peersFor: (_proposer, from) =>
      ['proposer', from, ...Object.keys(o.served)].filter((p, i, all) => all.indexOf(p) === i),
    fetch: async (peer, hashes) => {
      asked.push({ peer, hashes });
      const answer = o.served[peer];
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error('unreachable');
      return answer;
    },
    signatureValid: async (tx, hash) => transactionSignatureValid(tx, hash),
    deliver: (p) => delivered.push([...p.block.transactions]),
    assembled: (outcome) => outcomes.push(outcome),
    fetched: (outcome, _peer, count) => {
      fetched[outcome] = (fetched[outcome] ?? 0) + count;
    },
  };
  const assembly = new ProposalAssembly(ports);
  return {
    assembly,
    mempool,
    delivered,
    asked,
    outcomes,
    fetched,
    assemblySeconds,
    clock,
    setHead: (h: number) => {
      head = h;
    },
  };
}

const settle = async (assembly: ProposalAssembly) => {
  for (let i = 0; i < 100 && assembly.pending > 0; i++) await new Promise((r) => setTimeout(r, 5));
};

test('the compact form carries hashes, keeps the signature valid and is bounded', () => {
  const txs = [anchorTx(submitter), anchorTx(submitter)];
  const full = proposalWith(txs);
  const compact = compactProposal(full);
  assert.deepEqual(
    compact.txHashes,
    txs.map((tx) => transactionHash(tx)),
  );
  assert.ok(!('block' in compact));
  const wire = JSON.parse(JSON.stringify(compact));
  const decoded = decodeCompactProposal(wire, 10);
  assert.ok(decoded.ok);
  assert.ok(compactSignatureValid(decoded.value, verifySignature));
  assert.equal(blockHash(compact.header), blockHash(full.block.header));
  // Too many hashes for a block, a hash twice, or a changed header: refused or not signed.
  assert.equal(decodeCompactProposal(wire, 1).ok, false);
  assert.equal(
    decodeCompactProposal({ ...wire, txHashes: [wire.txHashes[0], wire.txHashes[0]] }, 10).ok,
    false,
  );
  assert.equal(decodeCompactProposal({ ...wire, extra: 1 }, 10).ok, false);
  const tampered = { ...wire, header: { ...wire.header, timestamp: wire.header.timestamp + 1 } };
  const t = decodeCompactProposal(tampered, 10);
  assert.ok(t.ok);
  assert.equal(compactSignatureValid(t.value, verifySignature), false);
});

test('a proposal whose transactions are all pending is whole at once, without a fetch', () => {
  const txs = [anchorTx(submitter), anchorTx(submitter)];
  const h = harness({ pending: txs, served: {} });
  h.assembly.receive(compactProposal(proposalWith(txs)), 'relay');
  assert.deepEqual(h.delivered, [txs]);
  assert.deepEqual(h.asked, []);
  assert.deepEqual(h.outcomes, ['local']);
  assert.deepEqual(h.assemblySeconds, [0], 'nothing to wait for');
});

test('a transaction still arriving by gossip is waited for, not fetched', async () => {
  const txs = [anchorTx(submitter), anchorTx(submitter)];
  // A grace far longer than the test: the proposal goes on when the transaction arrives, not when the grace ends.
  const h = harness({ pending: [txs[0] as Transaction], served: { proposer: txs }, graceMs: 60_000 });
  h.assembly.receive(compactProposal(proposalWith(txs)), 'relay');
  setTimeout(() => {
    h.clock.now += 40;
    const hash = transactionHash(txs[1] as Transaction);
    h.mempool.set(hash, txs[1] as Transaction);
    h.assembly.transactionArrived(hash);
  }, 40);
  await settle(h.assembly);
  assert.deepEqual(h.asked, []);
  assert.deepEqual(h.delivered, [txs]);
  assert.deepEqual(h.outcomes, ['gossip']);
  assert.deepEqual(h.assemblySeconds, [0.04], 'timed from its arrival to the last transaction');
});

test('missing transactions are fetched from the proposer first, exactly those, then the proposal is whole', async () => {
  const txs = [anchorTx(submitter), anchorTx(submitter), anchorTx(submitter)];
  const h = harness({ pending: [txs[0] as Transaction], served: { proposer: txs.slice(1) } });
  h.assembly.receive(compactProposal(proposalWith(txs)), 'relay');
  await settle(h.assembly);
  assert.deepEqual(h.asked, [{ peer: 'proposer', hashes: txs.slice(1).map((tx) => transactionHash(tx)) }]);
  assert.deepEqual(h.delivered, [txs]);
  assert.deepEqual(h.outcomes, ['fetched']);
  assert.equal(h.fetched.valid, 2);
  // A peer may now fetch from us what we fetched.
  assert.deepEqual(h.assembly.held(transactionHash(txs[1] as Transaction)), txs[1]);
});

test('a peer answering with another transaction or a forged one is ignored; the next peer completes it', async () => {
  const wanted = anchorTx(submitter);
  const other = anchorTx(submitter);
  // Same body as the wanted one (same hash), signature of another transaction: forged.
  const forged = { ...wanted, signature: other.signature };
  const h = harness({
    pending: [],
    served: { proposer: [other, forged, { junk: true } as unknown as Transaction], relay: [wanted] },
  });
  h.assembly.receive(compactProposal(proposalWith([wanted])), 'relay');
  await settle(h.assembly);
  assert.deepEqual(
    h.asked.map((a) => a.peer),
    ['proposer', 'relay'],
  );
  assert.deepEqual(h.delivered, [[wanted]]);
  assert.deepEqual(h.fetched, { unasked: 1, 'bad-signature': 1, malformed: 1, valid: 1 });
  assert.deepEqual(h.outcomes, ['fetched']);
});

test('transactions nobody has: bounded asking, nothing delivered (the engine prevotes nil)', async () => {
  const wanted = anchorTx(submitter);
  const served: Record<string, Transaction[] | Error> = { proposer: new Error('timed out') };
  for (let i = 0; i < 6; i++) served[`peer${i}`] = [];
  const h = harness({ pending: [], served });
  h.assembly.receive(compactProposal(proposalWith([wanted])), 'relay');
  await settle(h.assembly);
  assert.equal(h.asked.length, MAX_PEERS_ASKED);
  assert.deepEqual(h.delivered, []);
  assert.deepEqual(h.outcomes, ['failed']);
  assert.equal(h.assembly.pending, 0);
});

test('a proposal for the height after next waits without fetching; heights already final are dropped', async () => {
  const txs = [anchorTx(submitter)];
  const h = harness({ pending: [], served: { proposer: txs }, head: 3 });
  h.assembly.receive(compactProposal(proposalWith(txs, 5)), 'relay');
  h.assembly.receive(compactProposal(proposalWith(txs, 3)), 'relay');
  await settle(h.assembly);
  assert.deepEqual(h.asked, []);
  assert.equal(h.assembly.pending, 1);
  h.setHead(4);
  h.assembly.headMoved();
  await settle(h.assembly);
  assert.equal(h.asked.length, 1);
  assert.deepEqual(h.delivered, [txs]);
});

test('rounds far ahead are not fetched for, and at most MAX_JOBS proposals are pending', async () => {
  const h = harness({ pending: [], served: {}, head: 3 });
  h.assembly.receive(compactProposal(proposalWith([anchorTx(submitter)], 5, 9)), 'relay');
  assert.equal(h.assembly.pending, 0);
  for (let round = 0; round < 2 * MAX_JOBS; round++)
    h.assembly.receive(compactProposal(proposalWith([anchorTx(submitter)], 5, round % 3)), 'relay');
  assert.ok(h.assembly.pending <= MAX_JOBS);
  assert.deepEqual(h.asked, []);
});
