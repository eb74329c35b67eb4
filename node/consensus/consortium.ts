/**
 * Consortium consensus over the real network: the production adapter of the consensus host
 * (host.ts, which the simulator runs too). It gives the host libp2p gossip (proposals and votes,
 * validated before they are forwarded, and status), the block-sync protocol and setTimeout, and
 * nothing else: pacing, stall detection, when to sync and membership all live in the host.
 */
import type { PeerId } from '@libp2p/interface';
import type { Counter } from 'prom-client';
import type { Chain } from '../chain/chain.ts';
import type { Logger } from '../log.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { Gossip, Judgement } from '../p2p/gossip.ts';
import type { RunningHost } from '../p2p/host.ts';
import { publicKeyOfPeer } from '../p2p/identity.ts';
import { fetchBlocks, MAX_SYNC_BLOCKS, type SyncTraffic, serveBlocks } from '../p2p/sync.ts';
import type { TillidError } from '../protocol/errors.ts';
import type { Hex } from '../protocol/hash.ts';
import { type MessageSigner, verifySignature } from '../protocol/signature.ts';
import type { Consensus } from './consensus.ts';
import { ConsensusHost } from './host.ts';
import type { RoundMetrics } from './metrics.ts';
import { realTimers } from './real-timers.ts';
import type { Timeouts } from './tendermint/engine.ts';
import {
  type ConsensusMessage,
  decodeConsensusMessage,
  proposalSignatureValid,
  type SignatureCheck,
  senderOf,
  voteSignatureValid,
} from './tendermint/messages.ts';
import type { SignedVoteLog } from './tendermint/signed-log.ts';

export interface ConsortiumOptions {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly running: RunningHost;
  readonly gossip: Gossip;
  /** Absent for an observer. */
  readonly authority?: { readonly signer: MessageSigner; readonly signedLog: SignedVoteLog };
  readonly timeouts?: Timeouts;
  /** Pause after a commit before the next height starts (CometBFT's timeout_commit), unless the mempool holds a full block. */
  readonly blockIntervalMs: number;
  /**
   * With an empty mempool, how long to wait before producing an empty block (CometBFT's
   * create_empty_blocks_interval). Work arriving, or another authority starting the height, ends
   * the wait. Defaults to blockIntervalMs: empty blocks at the normal pace.
   */
  readonly emptyBlockIntervalMs?: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly evidence: Counter<'kind'>;
  /** Blocks received by sync that failed validation. */
  readonly syncRejected: Counter;
  /** Told about transactions this node's proposals left out for good. */
  readonly onDropped?: (hash: Hex, error: TillidError) => void;
  /** Told about two conflicting messages one authority signed. */
  readonly onEvidence?: (first: ConsensusMessage, second: ConsensusMessage) => void;
  /** Round metrics (rounds per height, round changes, missed proposals, last finalized). */
  readonly rounds?: RoundMetrics;
  /** Proposals and votes re-sent after a stall, by kind. */
  readonly resent?: Counter<'kind'>;
  /** Block-sync requests, blocks and bytes, served and fetched. */
  readonly syncTraffic?: SyncTraffic;
}

const verdictKey = (key: Hex, bytes: Uint8Array, signature: Hex): string =>
  `${key}:${signature}:${Buffer.from(bytes).toString('base64')}`;

/** What travels on the consensus topic: a message plus a relay counter, so a resend is new gossip. */
interface Envelope {
  readonly message: ConsensusMessage;
  readonly relay: number;
}

export class ConsortiumConsensus implements Consensus {
  readonly #o: ConsortiumOptions;
  readonly #host: ConsensusHost;
  readonly #timers: ReturnType<typeof realTimers>;
  /** Signed messages the gossip validator found valid, so the engine does not verify them again. */
  readonly #verified = new Set<string>();
  /** Peers by id string, for the block-sync protocol and bans. */
  readonly #peers = new Map<string, PeerId>();
  #relay = 0;
  #stopped = true;

  constructor(options: ConsortiumOptions) {
    this.#o = options;
    this.#timers = realTimers(options.now);
    const { log, rounds } = options;
    this.#host = new ConsensusHost({
      chain: options.chain,
      mempool: options.mempool,
      timers: this.#timers,
      clock: options.now,
      network: {
        broadcast: (message) =>
          void options.gossip.publish(message.kind, { message, relay: this.#relay++ } satisfies Envelope),
        // `author` lets a peer that lost its vote log count this as our own head (rejoin.ts) when it
        // arrives straight from us; a forwarded copy does not count.
        status: (height) =>
          void options.gossip.publish('status', {
            height,
            at: options.now(),
            ...(options.authority ? { author: options.authority.signer.publicKey } : {}),
          }),
        requestBlocks: (peer, from) => void this.#fetch(peer, from),
        punish: (peer, reason) => {
          options.syncRejected.inc();
          log.warn({ err: reason, peer }, 'a peer served an invalid block; disconnecting it');
          const id = this.#peers.get(peer);
          if (id) void options.running.ban(id, 10 * 60_000);
        },
      },
      ...(options.authority ? { authority: options.authority } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      signatureCheck: (key, bytes, signature) =>
        this.#verified.has(verdictKey(key, bytes, signature)) || verifySignature(key, bytes, signature),
      blockIntervalMs: options.blockIntervalMs,
      ...(options.emptyBlockIntervalMs !== undefined
        ? { emptyBlockIntervalMs: options.emptyBlockIntervalMs }
        : {}),
      events: {
        evidence: ({ first, second }) => {
          options.evidence.inc({ kind: first.kind });
          log.warn({ authority: senderOf(first), kind: first.kind }, 'equivocation');
          options.onEvidence?.(first, second);
        },
        ...(options.onDropped ? { dropped: options.onDropped } : {}),
        commitFailed: (height, err) => log.error({ err, height }, 'commit of a decided block failed'),
        caughtUp: (from, to, peer) => log.info({ from, to, peer }, 'caught up by block sync'),
        resent: (messages) => {
          for (const m of messages) options.resent?.inc({ kind: m.kind });
        },
        rejoinBounded: (voteFrom) =>
          log.warn(
            { voteFrom },
            'signed-vote log lost: the other authorities told their heads; signing again from this height',
          ),
        committed: () => rounds?.finalized(options.now()),
        decided: (height, round, missed) => rounds?.decided(height, round, missed),
        roundChanged: (height, round) => {
          rounds?.roundChanged();
          log.info({ height, round }, 'round change');
        },
      },
    });
  }

  get isAuthority(): boolean {
    return this.#host.isAuthority;
  }

  /** The engine's height and round, for /metrics. */
  get position(): { height: number; round: number } {
    return this.#host.position;
  }

  transactionsArrived(): void {
    this.#host.transactionsArrived();
  }

  async start(): Promise<void> {
    const { gossip, chain, running, log } = this.#o;
    this.#stopped = false;
    await serveBlocks(
      running.host,
      chain.rules.chainId,
      { height: () => chain.head.height, block: (h) => chain.block(h) },
      log,
      this.#o.syncTraffic,
    );
    // Proposals and votes travel on separate topics: a proposal carries a block and may be large,
    // a vote is small and frequent, so each topic can be judged and penalised on its own.
    for (const topic of ['proposal', 'vote'] as const) {
      gossip.on<Envelope>(topic, {
        validate: (input, from) => this.#validateConsensus(input, topic, this.#peer(from)),
        deliver: (envelope) => void this.#host.onMessage(envelope.message),
      });
    }
    gossip.on<{ height: number; author: unknown }>('status', {
      validate: (input) => {
        const { height, author } = (input ?? {}) as { height?: unknown; author?: unknown };
        return Number.isSafeInteger(height) && (height as number) >= 0
          ? { verdict: 'accept', value: { height: height as number, author } }
          : { verdict: 'reject', reason: 'bad status' };
      },
      // Gossip here is unsigned: only a status whose author is the peer that handed it to us is
      // that authority's own head.
      deliver: ({ height, author }, from) =>
        void this.#host.onStatus(
          this.#peer(from),
          height,
          typeof author === 'string' && author === publicKeyOfPeer(from) ? author : undefined,
        ),
    });
    await this.#host.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#host.stop();
    this.#timers.clearAll();
  }

  #peer(id: PeerId): string {
    const key = id.toString();
    if (!this.#peers.has(key)) this.#peers.set(key, id);
    return key;
  }

  async #fetch(peer: string, from: number): Promise<void> {
    const id = this.#peers.get(peer);
    if (!id || this.#stopped) return this.#host.onSyncFailed(peer);
    const { running, chain, log } = this.#o;
    try {
      const raw = await fetchBlocks(
        running.host,
        chain.rules.chainId,
        id,
        from,
        MAX_SYNC_BLOCKS,
        this.#o.syncTraffic,
      );
      await this.#host.onBlocks(peer, raw);
    } catch (e) {
      log.warn({ err: (e as Error).message, peer }, 'block sync failed');
      this.#host.onSyncFailed(peer);
    }
  }

  /** Gossip validation for consensus messages: shape, then the host's admission, then the signature. */
  #validateConsensus(input: unknown, topic: 'proposal' | 'vote', from: string): Judgement<Envelope> {
    const envelope = input as Partial<Envelope> | null;
    if (!envelope || typeof envelope !== 'object' || !Number.isSafeInteger(envelope.relay)) {
      return { verdict: 'reject', reason: 'not a consensus envelope' };
    }
    const decoded = decodeConsensusMessage(envelope.message);
    if (!decoded.ok) return { verdict: 'reject', reason: decoded.reason };
    const message = decoded.value;
    if (message.kind !== topic)
      return { verdict: 'reject', reason: `a ${message.kind} on the ${topic} topic` };
    const admission = this.#host.admit(message, from);
    if (admission.verdict !== 'accept') return admission;
    if (!this.#signatureValid(message)) return { verdict: 'reject', reason: 'bad signature' };
    return { verdict: 'accept', value: { message, relay: envelope.relay as number } };
  }

  #signatureValid(message: ConsensusMessage): boolean {
    // The engine's own check, run here once so an invalid message is never forwarded. Only valid
    // verdicts are remembered, keyed by everything the signature covers, so the engine skips
    // re-verifying exactly this message — and a reused signature on other bytes proves nothing.
    // A message seen before (a re-send after a stall, or a copy in another envelope) is not
    // verified again.
    const remember: SignatureCheck = (key, bytes, signature) => {
      if (this.#verified.has(verdictKey(key, bytes, signature))) return true;
      const valid = verifySignature(key, bytes, signature);
      if (valid) {
        if (this.#verified.size > 50_000) this.#verified.clear();
        this.#verified.add(verdictKey(key, bytes, signature));
      }
      return valid;
    };
    return message.kind === 'vote'
      ? voteSignatureValid(message.vote, remember)
      : proposalSignatureValid(message.proposal, undefined, remember);
  }
}
