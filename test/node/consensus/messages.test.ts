/** Consensus messages: the signing rules, and decoding of whatever a peer might send. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  certificateFromPrecommits,
  decodeConsensusMessage,
  decodeProposal,
  decodeVote,
  proposalSignatureValid,
  signProposal,
  signVote,
  voteSignatureValid,
} from '../../../node/consensus/tendermint/messages.ts';
import { proposer, scheduleOrder } from '../../../node/consensus/tendermint/schedule.ts';
import { type Block, blockHash, certificateProblem, commitDigest } from '../../../node/protocol/block.ts';
import { sha256, sha256Hex } from '../../../node/protocol/hash.ts';
import {
  keyPairFromSeed,
  Signer,
  signingMessage,
  verifySignature,
} from '../../../node/protocol/signature.ts';

const signers = [0, 1, 2, 3].map((i) => new Signer(keyPairFromSeed(sha256(`messages-test/${i}`))));
const authorities = signers.map((s) => s.publicKey);
const block: Block = {
  header: {
    chainId: 'tillid-test',
    height: 3,
    parentHash: sha256Hex('p'),
    txRoot: sha256Hex('t'),
    stateRoot: sha256Hex('s'),
    proposer: authorities[0] as string,
    timestamp: 5,
  },
  transactions: [],
  certificate: null,
};
const hash = blockHash(block.header);
const precommit = (s: Signer, blockHash: string | null, round = 1) =>
  signVote({ chainId: 'tillid-test', type: 'precommit', height: 3, round, blockHash }, s);

test('2f+1 precommits are a commit certificate, signatures sorted by authority', () => {
  const votes = [signers[3], signers[0], signers[2]].map((s) => precommit(s as Signer, hash));
  const certificate = certificateFromPrecommits(votes);
  assert.deepEqual(
    certificate.signatures.map((s) => s.authority),
    [...certificate.signatures.map((s) => s.authority)].sort(),
  );
  assert.equal(certificateProblem(certificate, block.header, authorities), undefined);
  // Exactly the commit signature: the same bytes solo.ts signs.
  const v = votes[0];
  assert.ok(v);
  assert.ok(
    verifySignature(
      v.authority,
      signingMessage('commit', commitDigest('tillid-test', 3, 1, hash)),
      v.signature,
    ),
  );
  assert.match(
    certificateProblem(certificateFromPrecommits(votes.slice(0, 2)), block.header, authorities) ?? '',
    /2 of the 3/,
  );
});

test('prevotes and nil precommits are signed under the vote tag and never pass as commit signatures', () => {
  const prevote = signVote(
    { chainId: 'tillid-test', type: 'prevote', height: 3, round: 1, blockHash: hash },
    signers[0] as Signer,
  );
  assert.ok(voteSignatureValid(prevote));
  const commitBytes = signingMessage('commit', commitDigest('tillid-test', 3, 1, hash));
  assert.equal(verifySignature(prevote.authority, commitBytes, prevote.signature), false);
  // A prevote relabelled as a precommit does not verify.
  assert.equal(voteSignatureValid({ ...prevote, type: 'precommit' }), false);
  const nil = precommit(signers[1] as Signer, null);
  assert.ok(voteSignatureValid(nil));
  assert.equal(voteSignatureValid({ ...nil, round: 2 }), false);
});

test('a proposal signs the block hash: changing the block or the validRound breaks it', () => {
  const p = signProposal(
    { chainId: 'tillid-test', height: 3, round: 1, block, validRound: 0 },
    signers[0] as Signer,
  );
  assert.ok(proposalSignatureValid(p));
  assert.equal(proposalSignatureValid({ ...p, validRound: -1 }), false);
  const other = { ...block, header: { ...block.header, timestamp: 6 } };
  assert.equal(proposalSignatureValid({ ...p, block: other }), false);
  assert.deepEqual(decodeProposal(JSON.parse(JSON.stringify(p))), { ok: true, value: p });
  assert.equal(decodeProposal({ ...p, validRound: 1 }).ok, false, 'validRound must be below the round');
  assert.equal(decodeProposal({ ...p, height: 4 }).ok, false, 'the block must be for the proposal height');
  assert.equal(
    decodeProposal({
      ...p,
      block: { ...block, certificate: certificateFromPrecommits([precommit(signers[0] as Signer, hash)]) },
    }).ok,
    false,
  );
});

test('decoding never throws, whatever arrives', () => {
  const vote = precommit(signers[0] as Signer, hash);
  const proposal = signProposal(
    { chainId: 'tillid-test', height: 3, round: 1, block, validRound: -1 },
    signers[0] as Signer,
  );
  const valid = [
    { kind: 'vote', vote },
    { kind: 'proposal', proposal },
  ];
  fc.assert(
    fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (input) => {
      decodeConsensusMessage(input);
      decodeVote(input);
      decodeProposal(input);
    }),
    { numRuns: 500 },
  );
  // Valid messages with one field replaced by anything at all.
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.string(), fc.anything(), (message, _s, value) => {
      const inner = (message.kind === 'vote' ? message.vote : message.proposal) as unknown as Record<
        string,
        unknown
      >;
      for (const key of Object.keys(inner)) {
        const mutated = { ...message, [message.kind]: { ...inner, [key]: value } };
        const result = decodeConsensusMessage(mutated);
        if (result.ok) assert.deepEqual(result.value, mutated);
      }
    }),
    { numRuns: 200 },
  );
  for (const m of valid) assert.equal(decodeConsensusMessage(JSON.parse(JSON.stringify(m))).ok, true);
  assert.equal(decodeVote({ ...vote, extra: 1 }).ok, false);
  assert.equal(decodeVote({ ...vote, round: -1 }).ok, false);
  assert.equal(decodeVote({ ...vote, blockHash: 'ABC' }).ok, false);
});

test('proposers rotate round-robin over the authorities sorted by key', () => {
  const sorted = scheduleOrder(authorities);
  assert.deepEqual(sorted, [...authorities].sort());
  const reversed = [...authorities].reverse();
  const seen = [0, 1, 2, 3].map((r) => proposer(5, r, reversed));
  assert.deepEqual(new Set(seen).size, 4, 'every authority proposes once in four rounds');
  assert.equal(proposer(5, 0, reversed), sorted[1]);
  assert.equal(proposer(5, 0, authorities), proposer(4, 1, reversed), 'only height + round matters');
});
