/**
 * Focused tests of the engine's rules, driven message by message. One engine under test (`p`, the
 * first authority in schedule order) with four authorities, so 2f+1 = 3 and f+1 = 2; the other
 * three authorities' messages are signed here by hand. Blocks are synthetic and the application
 * accepts them unless told otherwise, so these tests are about the algorithm alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConsensusApplication,
  type EngineOutput,
  TendermintEngine,
} from '../../../node/consensus/tendermint/engine.ts';
import {
  type ConsensusMessage,
  type Proposal,
  signProposal,
  signVote,
  type Vote,
  type VoteType,
} from '../../../node/consensus/tendermint/messages.ts';
import { scheduleOrder } from '../../../node/consensus/tendermint/schedule.ts';
import { MemorySignedVoteLog } from '../../../node/consensus/tendermint/signed-log.ts';
import { type Block, blockHash, certificateProblem } from '../../../node/protocol/block.ts';
import { type Hex, sha256, sha256Hex } from '../../../node/protocol/hash.ts';
import { keyPairFromSeed, Signer, verifySignature } from '../../../node/protocol/signature.ts';

const CHAIN = 'tillid-test';
const unordered = [0, 1, 2, 3].map((i) => new Signer(keyPairFromSeed(sha256(`engine-test/${i}`))));
const authorities = scheduleOrder(unordered.map((s) => s.publicKey));
/** In schedule order, so signers[i] is authorities[i]. */
const signers = authorities.map((pk) => unordered.find((s) => s.publicKey === pk) as Signer);
// proposer(h, r) = authorities[(h + r) % 4]: at height 1, p (index 0) proposes in round 3 only.
const proposerOf = (round: number, height = 1) => signers[(height + round) % 4] as Signer;

function block(tag: string, height = 1): Block {
  return {
    header: {
      chainId: CHAIN,
      height,
      parentHash: sha256Hex('parent'),
      txRoot: sha256Hex('no transactions'),
      stateRoot: sha256Hex(`state ${tag}`),
      proposer: authorities[1] as Hex,
      timestamp: 1_000 + height,
    },
    transactions: [],
    certificate: null,
  };
}
const V = block('v');
const W = block('w');
const hashOf = (b: Block) => blockHash(b.header);

class TestApp implements ConsensusApplication {
  readonly invalid = new Set<Hex>();
  validations = 0;
  authoritiesAt(): readonly Hex[] {
    return authorities;
  }
  proposeBlock(height: number): Block {
    return block('own', height);
  }
  isValidBlock(b: Block): boolean {
    this.validations++;
    return !this.invalid.has(hashOf(b));
  }
}

function setup(log = new MemorySignedVoteLog(), app = new TestApp()) {
  let checks = 0;
  const engine = new TendermintEngine({
    chainId: CHAIN,
    signer: signers[0] as Signer,
    app,
    signedLog: log,
    signatureCheck: (k, m, s) => {
      checks++;
      return verifySignature(k, m, s);
    },
  });
  return { engine, app, log, checks: () => checks };
}

const proposal = (round: number, b: Block, validRound = -1, height = 1): Proposal =>
  signProposal({ chainId: CHAIN, height, round, block: b, validRound }, proposerOf(round, height));
const vote = (from: number, type: VoteType, round: number, b: Block | null, height = 1): Vote =>
  signVote(
    { chainId: CHAIN, type, height, round, blockHash: b === null ? null : hashOf(b) },
    signers[from] as Signer,
  );

const sent = (outputs: EngineOutput[]): ConsensusMessage[] =>
  outputs.flatMap((o) => (o.type === 'broadcast' ? [o.message] : []));
const votesSent = (outputs: EngineOutput[], type: VoteType): Vote[] =>
  sent(outputs).flatMap((m) => (m.kind === 'vote' && m.vote.type === type ? [m.vote] : []));
const feed = (engine: TendermintEngine, ...messages: (Vote | Proposal)[]): EngineOutput[] =>
  messages.flatMap((m) => ('type' in m ? engine.onVote(m) : engine.onProposal(m)));

/** Ends round `round` with nothing decided, through the three timeouts, whatever step p is in. */
function timeOutRound(engine: TendermintEngine, round: number): EngineOutput[] {
  return [
    ...engine.onTimeout({ height: 1, round, step: 'propose' }),
    ...engine.onTimeout({ height: 1, round, step: 'prevote' }),
    ...engine.onTimeout({ height: 1, round, step: 'precommit' }),
  ];
}

test('an engine that was never started (an observer) ignores consensus messages: no votes, no timeouts', () => {
  const { engine } = setup();
  const b = block('seen-by-an-observer');
  const outputs = feed(
    engine,
    proposal(0, b),
    vote(1, 'prevote', 0, b),
    vote(2, 'prevote', 0, b),
    vote(3, 'prevote', 0, b),
    vote(1, 'precommit', 0, b),
    vote(2, 'precommit', 0, b),
    vote(3, 'precommit', 0, b),
  );
  assert.deepEqual(outputs, []);
});

test('a valid proposal is prevoted; a polka makes p lock and precommit; 2f+1 precommits decide', () => {
  const { engine } = setup();
  assert.deepEqual(
    engine.start(1).filter((o) => o.type === 'schedule-timeout'),
    [{ type: 'schedule-timeout', height: 1, round: 0, step: 'propose', delayMs: 3000 }],
  );
  const prevotes = votesSent(feed(engine, proposal(0, V)), 'prevote');
  assert.deepEqual(
    prevotes.map((v) => v.blockHash),
    [hashOf(V)],
    'line 22: prevote id(v)',
  );
  const out = feed(engine, vote(1, 'prevote', 0, V), vote(2, 'prevote', 0, V));
  assert.deepEqual(
    votesSent(out, 'precommit').map((v) => v.blockHash),
    [hashOf(V)],
    'line 36: precommit id(v)',
  );
  assert.equal(engine.lockedRound, 0);
  assert.equal(engine.validRound, 0);
  const decided = feed(engine, vote(1, 'precommit', 0, V), vote(3, 'precommit', 0, V)).filter(
    (o) => o.type === 'decide',
  );
  assert.equal(decided.length, 1);
  const decision = decided[0] as Extract<EngineOutput, { type: 'decide' }>;
  assert.equal(hashOf(decision.block), hashOf(V));
  assert.equal(certificateProblem(decision.certificate, decision.block.header, authorities), undefined);
  assert.equal(decision.certificate.signatures.length, 3);
});

test('line 22: an invalid block, or one other than the locked value, is prevoted nil', () => {
  const { engine, app } = setup();
  engine.start(1);
  app.invalid.add(hashOf(W));
  assert.deepEqual(
    votesSent(feed(engine, proposal(0, W)), 'prevote').map((v) => v.blockHash),
    [null],
  );
});

test('locking: once locked on v in round 0, p prevotes nil for w in round 1 and w re-proposed without a polka', () => {
  const { engine } = setup();
  engine.start(1);
  feed(engine, proposal(0, V), vote(1, 'prevote', 0, V), vote(2, 'prevote', 0, V));
  assert.equal(engine.lockedRound, 0);
  timeOutRound(engine, 0);
  assert.equal(engine.round, 1);

  // Round 1: w is proposed fresh (validRound -1). p is locked on v: nil.
  const r1 = feed(engine, proposal(1, W));
  assert.deepEqual(
    votesSent(r1, 'prevote').map((v) => v.blockHash),
    [null],
  );
  timeOutRound(engine, 1);
  assert.equal(engine.round, 2);

  // Round 2: w re-proposed with validRound 1, but p has not seen that polka: it waits (line 28
  // needs the 2f+1 prevotes), and without them prevotes nil when the propose timeout fires.
  assert.deepEqual(votesSent(feed(engine, proposal(2, W, 1)), 'prevote'), []);
  const timedOut = engine.onTimeout({ height: 1, round: 2, step: 'propose' });
  assert.deepEqual(
    votesSent(timedOut, 'prevote').map((v) => v.blockHash),
    [null],
  );
  assert.equal(engine.lockedRound, 0, 'still locked on v');
});

test('line 28: a polka for w at validRound >= lockedRound unlocks p: it prevotes w', () => {
  const { engine } = setup();
  engine.start(1);
  feed(engine, proposal(0, V), vote(1, 'prevote', 0, V), vote(2, 'prevote', 0, V));
  timeOutRound(engine, 0);
  feed(engine, proposal(1, W));
  timeOutRound(engine, 1);
  assert.deepEqual(votesSent(feed(engine, proposal(2, W, 1)), 'prevote'), []);
  // The polka for w in round 1 (from the other three) arrives late: now line 28 applies.
  const out = feed(engine, vote(1, 'prevote', 1, W), vote(2, 'prevote', 1, W), vote(3, 'prevote', 1, W));
  assert.deepEqual(
    votesSent(out, 'prevote').map((v) => v.blockHash),
    [hashOf(W)],
  );
});

test('line 28: a polka at a validRound below lockedRound does not unlock p', () => {
  const { engine } = setup();
  engine.start(1);
  timeOutRound(engine, 0); // round 0: nothing, p prevotes and precommits nil
  feed(engine, proposal(1, V), vote(1, 'prevote', 1, V), vote(2, 'prevote', 1, V));
  assert.equal(engine.lockedRound, 1);
  timeOutRound(engine, 1);
  // Round 2: w with validRound 0 and a real polka for w in round 0 from the other three.
  const out = feed(
    engine,
    proposal(2, W, 0),
    vote(1, 'prevote', 0, W),
    vote(2, 'prevote', 0, W),
    vote(3, 'prevote', 0, W),
  );
  assert.deepEqual(
    votesSent(out, 'prevote').map((v) => v.blockHash),
    [null],
  );
});

test('line 28: the locked value itself is prevoted when re-proposed with its polka round', () => {
  const { engine } = setup();
  engine.start(1);
  feed(engine, proposal(0, V), vote(1, 'prevote', 0, V), vote(2, 'prevote', 0, V));
  timeOutRound(engine, 0);
  const out = feed(engine, proposal(1, V, 0));
  assert.deepEqual(
    votesSent(out, 'prevote').map((v) => v.blockHash),
    [hashOf(V)],
  );
});

test('line 44: 2f+1 nil prevotes make p precommit nil; line 47 then schedules the precommit timeout', () => {
  const { engine } = setup();
  engine.start(1);
  engine.onTimeout({ height: 1, round: 0, step: 'propose' }); // p prevotes nil
  const out = feed(engine, vote(1, 'prevote', 0, null), vote(2, 'prevote', 0, null));
  assert.deepEqual(
    votesSent(out, 'precommit').map((v) => v.blockHash),
    [null],
  );
  const timeouts = feed(engine, vote(1, 'precommit', 0, null), vote(2, 'precommit', 0, null)).filter(
    (o) => o.type === 'schedule-timeout',
  );
  assert.deepEqual(timeouts, [
    { type: 'schedule-timeout', height: 1, round: 0, step: 'precommit', delayMs: 1000 },
  ]);
});

test('timeouts grow with the round and stale ones are ignored', () => {
  const { engine } = setup();
  engine.start(1);
  timeOutRound(engine, 0);
  timeOutRound(engine, 1);
  assert.equal(engine.round, 2);
  assert.deepEqual(engine.onTimeout({ height: 1, round: 0, step: 'precommit' }), []);
  assert.deepEqual(engine.onTimeout({ height: 7, round: 2, step: 'propose' }), []);
  const out = engine.onTimeout({ height: 1, round: 2, step: 'precommit' });
  assert.equal(engine.round, 3);
  // Round 3 is p's own: it proposes instead of scheduling a propose timeout.
  assert.equal(sent(out).filter((m) => m.kind === 'proposal').length, 1);
  const r4 = engine.onTimeout({ height: 1, round: 3, step: 'precommit' });
  assert.deepEqual(
    r4.filter((o) => o.type === 'schedule-timeout'),
    [{ type: 'schedule-timeout', height: 1, round: 4, step: 'propose', delayMs: 3000 + 4 * 500 }],
  );
});

test('line 55: f+1 messages from a higher round make p skip to it; f do not', () => {
  const { engine } = setup();
  engine.start(1);
  feed(engine, vote(1, 'prevote', 5, null));
  assert.equal(engine.round, 0, 'one authority (f) is not enough');
  feed(engine, vote(2, 'precommit', 5, null));
  assert.equal(engine.round, 5);
});

test('line 49: the decision is accepted from an earlier round while p is in a later one', () => {
  const { engine } = setup();
  engine.start(1);
  timeOutRound(engine, 0);
  timeOutRound(engine, 1);
  assert.equal(engine.round, 2);
  const out = feed(
    engine,
    vote(1, 'precommit', 0, V),
    vote(2, 'precommit', 0, V),
    vote(3, 'precommit', 0, V),
    proposal(0, V),
  );
  const decision = out.find((o) => o.type === 'decide');
  assert.ok(decision && decision.type === 'decide');
  assert.equal(decision.certificate.round, 0);
  assert.equal(hashOf(decision.block), hashOf(V));
});

test('no decision without the proposal, and none for a block the application rejects', () => {
  const { engine, app } = setup();
  engine.start(1);
  const precommits = [1, 2, 3].map((i) => vote(i, 'precommit', 0, V));
  assert.equal(feed(engine, ...precommits).filter((o) => o.type === 'decide').length, 0);
  app.invalid.add(hashOf(V));
  assert.equal(feed(engine, proposal(0, V)).filter((o) => o.type === 'decide').length, 0);
});

test('equivocation: two different signed votes for one slot are evidence; duplicates and forgeries are not', () => {
  const { engine, checks } = setup();
  engine.start(1);
  const first = vote(2, 'prevote', 0, V);
  feed(engine, first);
  const checked = checks();
  assert.deepEqual(feed(engine, first, first), [], 'duplicates are dropped');
  assert.equal(checks(), checked, 'without verifying the signature again');
  const forged = { ...vote(2, 'prevote', 0, W), signature: first.signature };
  assert.equal(feed(engine, forged).filter((o) => o.type === 'evidence').length, 0);
  const second = vote(2, 'prevote', 0, W);
  const evidence = feed(engine, second).filter((o) => o.type === 'evidence');
  assert.deepEqual(evidence, [
    { type: 'evidence', first: { kind: 'vote', vote: first }, second: { kind: 'vote', vote: second } },
  ]);
  assert.deepEqual(
    feed(engine, vote(2, 'prevote', 0, null)).filter((o) => o.type === 'evidence'),
    [],
    'once per slot',
  );
});

test('equivocation: two proposals from the round proposer are evidence', () => {
  const { engine } = setup();
  engine.start(1);
  const a = proposal(0, V);
  const b = proposal(0, W);
  feed(engine, a);
  const evidence = feed(engine, b).filter((o) => o.type === 'evidence');
  assert.deepEqual(evidence, [
    { type: 'evidence', first: { kind: 'proposal', proposal: a }, second: { kind: 'proposal', proposal: b } },
  ]);
});

test('equivocation on the height just finished: statements that arrive after the decision are still evidence', () => {
  // Property seed 2391: the equivocator was cut off while height 1 ran and its two faces for it
  // reached the others only after they had decided it.
  const { engine } = setup();
  engine.start(1);
  const held = vote(2, 'prevote', 0, V);
  feed(engine, proposal(0, V), held, vote(1, 'prevote', 0, V));
  const out = feed(engine, ...[1, 2, 3].map((i) => vote(i, 'precommit', 0, V)));
  assert.ok(out.some((o) => o.type === 'decide'));
  // Decided: a conflicting twin of a vote held while the height ran is proof.
  const twin = vote(2, 'prevote', 0, null);
  assert.deepEqual(
    feed(engine, twin).filter((o) => o.type === 'evidence'),
    [{ type: 'evidence', first: { kind: 'vote', vote: held }, second: { kind: 'vote', vote: twin } }],
  );
  engine.start(2);
  // At the next height: both faces of a slot never seen while height 1 ran, one after the other.
  const late = vote(3, 'prevote', 1, null);
  const lateTwin = vote(3, 'prevote', 1, W);
  assert.deepEqual(feed(engine, late, late), [], 'one statement is no proof; a duplicate neither');
  assert.deepEqual(
    feed(engine, lateTwin).filter((o) => o.type === 'evidence'),
    [{ type: 'evidence', first: { kind: 'vote', vote: late }, second: { kind: 'vote', vote: lateTwin } }],
  );
  assert.deepEqual(feed(engine, vote(3, 'prevote', 1, V), twin), [], 'once per slot');
  const forged = { ...vote(1, 'precommit', 0, W), signature: vote(1, 'precommit', 0, V).signature };
  assert.deepEqual(feed(engine, forged), [], 'a forgery proves nothing');
  // Two heights back is out of the watch (bounded memory): nothing is reported there.
  engine.start(3);
  assert.deepEqual(feed(engine, vote(1, 'prevote', 2, V), vote(1, 'prevote', 2, W)), []);
});

test('equivocation on the height just finished is watched with bounded memory per authority', () => {
  const { engine } = setup();
  engine.start(2);
  // Height 1 was never run here (synced past it): 16 late slots per authority are kept, no more.
  for (let round = 0; round < 16; round++) feed(engine, vote(1, 'prevote', round, V));
  assert.deepEqual(feed(engine, vote(1, 'prevote', 16, V), vote(1, 'prevote', 16, W)), []);
  const evidence = feed(engine, vote(1, 'prevote', 15, W)).filter((o) => o.type === 'evidence');
  assert.equal(evidence.length, 1);
});

test('messages from non-authorities, the wrong proposer, another chain or with bad signatures are ignored', () => {
  const { engine } = setup();
  engine.start(1);
  const outsider = new Signer(keyPairFromSeed(sha256('outsider')));
  const foreign = signVote(
    { chainId: CHAIN, type: 'prevote', height: 1, round: 3, blockHash: null },
    outsider,
  );
  const wrongProposer = signProposal(
    { chainId: CHAIN, height: 1, round: 0, block: V, validRound: -1 },
    signers[2] as Signer,
  );
  const otherChain = signVote(
    { chainId: 'other', type: 'prevote', height: 1, round: 3, blockHash: null },
    signers[1] as Signer,
  );
  const badSignature = { ...vote(1, 'prevote', 3, null), signature: vote(2, 'prevote', 3, null).signature };
  assert.deepEqual(
    feed(engine, foreign, wrongProposer, otherChain, badSignature, vote(2, 'prevote', 3, null)),
    [],
  );
  assert.equal(engine.round, 0, 'only one valid message from round 3');
});

test('the signed-vote log: a restarted authority re-sends what it signed and keeps its lock', () => {
  const log = new MemorySignedVoteLog();
  const before = setup(log);
  before.engine.start(1);
  feed(before.engine, proposal(0, V), vote(1, 'prevote', 0, V), vote(2, 'prevote', 0, V));
  assert.equal(before.engine.lockedRound, 0);

  // Crash and restart: a new engine on the same log.
  const after = setup(log);
  const restarted = after.engine.start(1);
  assert.equal(after.engine.round, 0);
  assert.equal(after.engine.step, 'precommit');
  assert.equal(after.engine.lockedRound, 0, 'the lock is rebuilt from the signed precommit');
  assert.deepEqual(
    sent(restarted).map((m) => (m.kind === 'vote' ? `${m.vote.type}:${m.vote.blockHash}` : m.kind)),
    [`prevote:${hashOf(V)}`, `precommit:${hashOf(V)}`],
  );
  // An equivocating proposer now shows it w for round 0: nothing new is signed for that slot.
  assert.deepEqual(votesSent(feed(after.engine, proposal(0, W)), 'prevote'), []);
  // And in round 1 the restored lock still applies to a fresh w.
  after.engine.onTimeout({ height: 1, round: 0, step: 'precommit' });
  assert.deepEqual(
    votesSent(feed(after.engine, proposal(1, W)), 'prevote').map((v) => v.blockHash),
    [null],
  );
  const slots = log
    .signedAt(1)
    .map((e) => (e.kind === 'vote' ? `${e.vote.type}@${e.vote.round}` : 'proposal'));
  assert.deepEqual(slots, ['prevote@0', 'precommit@0', 'prevote@1'], 'one signature per slot');
});

test('messages for the next height are buffered, verified once and replayed; later heights are dropped', () => {
  const { engine, checks } = setup();
  engine.start(1);
  const next = block('next', 2);
  const early = [proposal(0, next, -1, 2), vote(1, 'prevote', 0, next, 2), vote(2, 'prevote', 0, next, 2)];
  assert.deepEqual(feed(engine, ...early, vote(3, 'prevote', 0, null, 3)), []);
  // Height 1 is decided and committed by the host, which then starts height 2.
  feed(engine, proposal(0, V), ...[1, 2, 3].map((i) => vote(i, 'precommit', 0, V)));
  const checked = checks();
  const out = engine.start(2);
  assert.equal(checks(), checked, 'the buffered messages were verified once, when they arrived');
  // p prevotes the buffered proposal and, with the buffered prevotes, precommits it.
  assert.deepEqual(
    votesSent(out, 'precommit').map((v) => v.blockHash),
    [hashOf(next)],
  );
});

test('the future-round allowance bounds what one authority can make p store', () => {
  const { engine } = setup();
  engine.start(1);
  for (let round = 10; round < 20; round++) feed(engine, vote(1, 'prevote', round, null));
  // Authority 2 joins in round 12: authority 1 was only allowed rounds 10 and 11, so no skip.
  feed(engine, vote(2, 'prevote', 12, null));
  assert.equal(engine.round, 0);
  feed(engine, vote(2, 'prevote', 11, null));
  assert.equal(engine.round, 11);
});

test('a stall re-sends only p’s own messages; what p holds for its height is served to a peer that asks', () => {
  const { engine } = setup();
  engine.start(1);
  feed(engine, proposal(0, V), vote(1, 'prevote', 0, V), vote(2, 'prevote', 1, null));
  const own = sent(engine.rebroadcast());
  assert.ok(own.length > 0);
  assert.ok(
    own.every((m) => m.kind === 'vote' && m.vote.authority === authorities[0]),
    "others' messages are not re-flooded",
  );
  const held = engine.heldAt(1, 100);
  assert.equal(held.filter((m) => m.kind === 'proposal').length, 1, 'the proposal it holds');
  assert.ok(
    held.some((m) => m.kind === 'vote' && m.vote.authority === authorities[1]),
    "others' votes too",
  );
  assert.equal(held[0]?.kind === 'vote' && held[0].vote.round, 1, 'latest round first');
  assert.equal(engine.heldAt(1, 2).length, 2, 'bounded');
  assert.deepEqual(engine.heldAt(2, 100), [], 'nothing for a height it does not run');
});
