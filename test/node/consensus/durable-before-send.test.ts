/**
 * Never sign twice across a restart: a write-behind signed-vote log (its fsync off the main
 * thread) lets the host send nothing it signed, and commit no block it precommitted, before the
 * log says it is on disk. A log without that owner writes before `record` returns.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { devGenesis, waitFor } from '../../fixtures/node.ts';

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

/** Resolves once `condition` holds (checked every 25 ms, at most 10 s). */
const until = (condition: () => boolean) => waitFor(async () => (condition() ? true : undefined));

test('the host sends a signed message, and commits its block, only once the signed-vote log has it on disk', async () => {
  const log = new GatedLog();
  const { host, chain, sent } = await soloHost(log);
  const started = host.start();
  await until(() => log.recorded.length >= 1);
  // Signed and recorded, but the disk has not answered: nothing leaves and nothing is committed,
  // however long the node runs meanwhile (several turns of the event loop and a timer).
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sent.length, 0, 'nothing leaves the node while its record is not durable');
  assert.equal(chain.head.height, 0);
  log.open();
  await started;
  await until(() => chain.head.height === 1 && sent.length === 3);
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
  const { host, chain, sent, failures } = await soloHost(log);
  const started = host.start();
  await until(() => log.recorded.length >= 1);
  log.fail();
  await started;
  await until(() => failures.length === 1);
  assert.equal(sent.length, 0);
  assert.equal(chain.head.height, 0, 'nothing decided is committed either');
  await host.stop();
  assert.equal(failures.length, 1);
});

test('the file log: on disk when record returns by default, compacted once enough is stale; write-behind: visible at once, on disk when durable() resolves, never written twice across a compaction', async (t) => {
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
  const onDisk = () => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

  // Default: on disk when record returns, so any caller may send at once.
  const direct = new FileSignedVoteLog(path, { compactAfter: 2 });
  direct.record(vote(1, 0, 'prevote'));
  assert.equal(onDisk(), 1, 'written before record returned');
  direct.record(vote(1, 0, 'precommit'));
  direct.record(vote(2, 0, 'prevote'));
  direct.prune(2);
  assert.equal(direct.signedAt(1).length, 0, 'forgotten in memory at once');
  assert.equal(onDisk(), 1, 'the file compacted once two lines were stale');
  direct.prune(3);
  assert.equal(onDisk(), 1, 'one stale line stays in the file until more accumulate');
  await direct.close();
  rmSync(path);

  const log = new FileSignedVoteLog(path, { writeBehind: true, compactAfter: 1 });
  log.record(vote(1, 0, 'prevote'));
  assert.equal(log.signedAt(1).length, 1, 'the engine sees what it signed before the disk does');
  assert.equal(onDisk(), 0, 'write-behind: not yet written when record returns');
  assert.throws(() => log.record(vote(1, 0, 'prevote')), /already signed/);
  log.record(vote(1, 0, 'precommit'));
  log.record(vote(2, 0, 'prevote'));
  // A prune queued behind writes, with more entries recorded after it: each lands exactly once.
  log.prune(2);
  log.record(vote(2, 0, 'precommit'));
  log.record(vote(3, 0, 'prevote'));
  await log.durable();
  assert.equal(onDisk(), 3);
  const reopened = new FileSignedVoteLog(path);
  const slots = [2, 3].flatMap((h) => reopened.signedAt(h).map((e) => slotKey(slotOf(e))));
  assert.deepEqual(slots, ['2/0/prevote', '2/0/precommit', '3/0/prevote']);
  assert.equal(reopened.signedAt(1).length, 0, 'pruned');
  await reopened.close();
  await log.close();
});
