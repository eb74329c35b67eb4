/**
 * Never sign twice across a restart: the signed-vote log writes in the background (its fsync is
 * off the main thread), and the host sends nothing it signed before the log says it is on disk.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Chain } from '../../../node/chain/chain.ts';
import { MemoryChainStore } from '../../../node/chain/store.ts';
import { ConsensusHost } from '../../../node/consensus/host.ts';
import { FileSignedVoteLog } from '../../../node/consensus/tendermint/file-signed-log.ts';
import type { ConsensusMessage } from '../../../node/consensus/tendermint/messages.ts';
import {
  MemorySignedVoteLog,
  type SignedEntry,
  slotOf,
} from '../../../node/consensus/tendermint/signed-log.ts';
import { Mempool } from '../../../node/mempool/mempool.ts';
import { generateKeyPair, Signer } from '../../../node/protocol/signature.ts';
import { applicationModules } from '../../../node/state/application.ts';
import { devGenesis } from '../../fixtures/node.ts';

const slotKey = (s: { height: number; round: number; type: string }) => `${s.height}/${s.round}/${s.type}`;
const messageSlot = (m: ConsensusMessage) =>
  slotKey(
    m.kind === 'vote'
      ? m.vote
      : { height: m.proposal.height, round: m.proposal.round, type: 'proposal' as const },
  );

/** A log whose writes reach "disk" only when the test opens the gate (or fail, if it says so). */
class GatedLog extends MemorySignedVoteLog {
  readonly recorded: string[] = [];
  readonly onDisk = new Set<string>();
  readonly #gate = Promise.withResolvers<void>();
  override record(entry: SignedEntry): void {
    super.record(entry);
    this.recorded.push(slotKey(slotOf(entry)));
  }
  durable(): Promise<void> {
    const upTo = this.recorded.length;
    return this.#gate.promise.then(() => {
      for (const slot of this.recorded.slice(0, upTo)) this.onDisk.add(slot);
    });
  }
  open(): void {
    this.#gate.resolve();
  }
  fail(): void {
    this.#gate.reject(new Error('EIO: the disk failed'));
  }
}

async function soloHost(log: GatedLog) {
  const key = generateKeyPair();
  const genesis = devGenesis([key]);
  const chain = await Chain.openStorage(new MemoryChainStore(), genesis, applicationModules(genesis));
  const sent: { slot: string; durable: boolean }[] = [];
  const failures: unknown[] = [];
  let timer = 0;
  const host = new ConsensusHost({
    chain,
    mempool: new Mempool({ maxTransactions: 10, maxBytes: 1 << 20 }),
    clock: () => Date.now(),
    // Timers never fire: one authority decides height 1 on its own messages alone.
    timers: { now: () => Date.now(), set: () => ++timer, clear: () => {} },
    network: {
      broadcast: (m) => sent.push({ slot: messageSlot(m), durable: log.onDisk.has(messageSlot(m)) }),
      status: () => {},
      requestBlocks: () => {},
      punish: () => {},
    },
    authority: { signer: new Signer(key), signedLog: log },
    blockIntervalMs: 1,
    events: { signedLogFailed: (e) => failures.push(e) },
  });
  return { host, chain, sent, failures };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('the host sends a signed message only once the signed-vote log has it on disk', async () => {
  const log = new GatedLog();
  const { host, chain, sent } = await soloHost(log);
  const started = host.start();
  await settle();
  assert.ok(log.recorded.length >= 1, 'the proposal was signed and recorded');
  assert.equal(sent.length, 0, 'nothing leaves the node while its record is not durable');
  log.open();
  await started;
  await settle();
  assert.equal(chain.head.height, 1, 'height 1 decided once the log was durable');
  assert.deepEqual(
    sent.map((s) => s.slot),
    ['1/0/proposal', '1/0/prevote', '1/0/precommit'],
  );
  assert.ok(
    sent.every((s) => s.durable),
    'every message sent was on disk before it was sent',
  );
  await host.stop();
});

test('a signed-vote log that cannot be written stops the node from sending, and says so once', async () => {
  const log = new GatedLog();
  const { host, sent, failures } = await soloHost(log);
  const started = host.start();
  await settle();
  log.fail();
  await started;
  await settle();
  assert.equal(sent.length, 0);
  assert.equal(failures.length, 1);
  await host.stop();
});

test('the file log: entries are visible at once, durable when durable() resolves, never written twice across a prune', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-signed-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signed-votes.jsonl');
  const signer = new Signer(generateKeyPair());
  const vote = (height: number, round: number, type: 'prevote' | 'precommit'): SignedEntry => ({
    kind: 'vote',
    vote: {
      chainId: 'c',
      height,
      round,
      type,
      blockHash: null,
      voter: signer.publicKey,
      signature: '00',
    } as never,
  });
  const log = new FileSignedVoteLog(path);
  log.record(vote(1, 0, 'prevote'));
  assert.equal(log.signedAt(1).length, 1, 'the engine sees what it signed before the disk does');
  assert.throws(() => log.record(vote(1, 0, 'prevote')), /already signed/);
  log.record(vote(1, 0, 'precommit'));
  log.record(vote(2, 0, 'prevote'));
  // A prune queued behind writes, with more entries recorded after it: each lands exactly once.
  log.prune(2);
  log.record(vote(2, 0, 'precommit'));
  log.record(vote(3, 0, 'prevote'));
  await log.durable();
  const reopened = new FileSignedVoteLog(path);
  const slots = [2, 3].flatMap((h) => reopened.signedAt(h).map((e) => slotKey(slotOf(e))));
  assert.deepEqual(slots, ['2/0/prevote', '2/0/precommit', '3/0/prevote']);
  assert.equal(reopened.signedAt(1).length, 0, 'pruned');
  await reopened.close();
  await log.close();
});
