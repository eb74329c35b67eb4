/**
 * Consortium consensus over the real network: the production adapter of the consensus host
 * (host.ts, which the simulator runs too). It gives the host libp2p gossip (proposals and votes,
 * validated before they are forwarded, and status), the block-sync, transaction-fetch and
 * held-message protocols, and setTimeout, and nothing else: pacing, stall detection, when to sync
 * or ask for held messages, and membership all live in the host. How a peer's message is judged is
 * consensus-gossip.ts; what the host's reports turn into, consortium-events.ts.
 */
import type { PeerId } from '@libp2p/interface';
import { fetchHeld, serveHeld } from '../p2p/held-fetch.ts';
import { publicKeyOfPeer } from '../p2p/identity.ts';
import { fetchBlocks, MAX_SYNC_BLOCKS, serveBlocks } from '../p2p/sync.ts';
import { fetchTransactions, serveTransactions } from '../p2p/tx-fetch.ts';
import type { Hex } from '../protocol/hash.ts';
import { transactionSignatureValid } from '../protocol/transaction.ts';
import { compactProposal } from './compact-proposal.ts';
import type { Consensus } from './consensus.ts';
import {
  ConsensusGossipCheck,
  type Envelope,
  heldMessage,
  type ProposalEnvelope,
} from './consensus-gossip.ts';
import { consortiumEvents } from './consortium-events.ts';
import type { ConsortiumOptions } from './consortium-options.ts';
import { ConsensusHost, MAX_HELD_MESSAGES } from './host.ts';
import { type AssemblyOutcome, type FetchedOutcome, ProposalAssembly } from './proposal-assembly.ts';
import { realTimers } from './real-timers.ts';

export type { ConsortiumOptions } from './consortium-options.ts';

/** How long one transaction fetch may take: well inside the propose timeout, so another peer can be asked. */
const TX_FETCH_TIMEOUT_MS = 1500;
/** How long a held-message request may take: it is asked again at the next stall if it fails. */
const HELD_FETCH_TIMEOUT_MS = 2000;

export class ConsortiumConsensus implements Consensus {
  readonly #o: ConsortiumOptions;
  readonly #host: ConsensusHost;
  readonly #timers: ReturnType<typeof realTimers>;
  readonly #check: ConsensusGossipCheck;
  /** Peers by id string, for the request/response protocols and bans. */
  readonly #peers = new Map<string, PeerId>();
  readonly #assembly: ProposalAssembly;
  #relay = 0;
  /** Which connected peer a held-message request without a named peer goes to next. */
  #heldTurn = 0;
  #stopped = true;

  constructor(options: ConsortiumOptions) {
    this.#o = options;
    this.#timers = realTimers(options.now);
    this.#assembly = this.#newAssembly();
    this.#check = new ConsensusGossipCheck(options.chain, (message, from) => this.#host.admit(message, from));
    const { log } = options;
    this.#host = new ConsensusHost({
      chain: options.chain,
      mempool: options.mempool,
      timers: this.#timers,
      clock: options.now,
      network: {
        broadcast: (message) =>
          void (message.kind === 'proposal'
            ? options.gossip.publish('proposal', {
                proposal: compactProposal(message.proposal),
                relay: this.#relay++,
              } satisfies ProposalEnvelope)
            : options.gossip.publish('vote', { message, relay: this.#relay++ } satisfies Envelope)),
        // `author` lets a peer that lost its vote log count this as our own head (rejoin.ts) when it
        // arrives straight from us; a forwarded copy does not count.
        status: (height) =>
          void options.gossip.publish('status', {
            height,
            at: options.now(),
            ...(options.authority ? { author: options.authority.signer.publicKey } : {}),
          }),
        requestBlocks: (peer, from) => void this.#fetch(peer, from),
        requestHeld: (height, peer) => void this.#fetchHeld(height, peer),
        punish: (peer, reason) => {
          options.syncRejected.inc();
          log.warn({ err: reason, peer }, 'a peer served an invalid block; disconnecting it');
          const id = this.#peers.get(peer);
          if (id) void options.running.ban(id, 10 * 60_000);
        },
      },
      ...(options.authority ? { authority: options.authority } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      signatureCheck: this.#check.signatureCheck,
      blockIntervalMs: options.blockIntervalMs,
      ...(options.emptyBlockIntervalMs !== undefined
        ? { emptyBlockIntervalMs: options.emptyBlockIntervalMs }
        : {}),
      events: consortiumEvents(options, () => this.#assembly.headMoved()),
    });
  }

  #newAssembly(): ProposalAssembly {
    const { chain, mempool, running, log, assembly } = this.#o;
    const check = this.#o.verifyFetched;
    return new ProposalAssembly({
      pending: (hash) => mempool.get(hash)?.tx,
      head: () => chain.head.height,
      round: () => this.#host.position.round,
      peersFor: (proposer, from) => {
        const connected = running.host.getPeers();
        for (const id of connected) this.#peer(id);
        const own = connected.filter((id) => publicKeyOfPeer(id) === proposer).map(String);
        const rest = connected.map(String).filter((id) => id !== from && !own.includes(id));
        return [...new Set([...own, from, ...rest])];
      },
      fetch: async (peer, hashes) => {
        const id = this.#peers.get(peer);
        if (!id || this.#stopped) throw new Error('peer gone');
        return fetchTransactions(running.host, chain.rules.chainId, id, hashes, this.#fetchLimits());
      },
      signatureValid: check ?? (async (tx, hash) => transactionSignatureValid(tx, hash)),
      deliver: (proposal) => void this.#host.onMessage({ kind: 'proposal', proposal }),
      assembled: (outcome: AssemblyOutcome) => assembly?.proposals.inc({ outcome }),
      ...(assembly?.stages ? { stages: assembly.stages } : {}),
      fetched: (outcome: FetchedOutcome, peer, count) => {
        assembly?.transactions.inc({ outcome }, count);
        if (outcome !== 'valid')
          log.warn(
            { peer, outcome, count },
            'a peer answered a transaction fetch with what was not asked for',
          );
      },
      failed: (peer, reason) => log.debug({ peer, err: reason }, 'transaction fetch failed'),
    });
  }

  #fetchLimits() {
    return { max: this.#o.chain.rules.params.maxBlockTransactions, timeoutMs: TX_FETCH_TIMEOUT_MS };
  }

  /** A held answer's bounds: a compact proposal names at most a block's hashes (67 bytes each in JSON). */
  #heldLimits() {
    const maxFrame = 67 * this.#o.chain.rules.params.maxBlockTransactions + 64 * 1024;
    return { max: MAX_HELD_MESSAGES, maxFrame, timeoutMs: HELD_FETCH_TIMEOUT_MS };
  }

  get isAuthority(): boolean {
    return this.#host.isAuthority;
  }

  /** The engine's height and round, for /metrics. */
  get position(): { height: number; round: number } {
    return this.#host.position;
  }

  transactionsArrived(hash?: Hex): void {
    if (hash !== undefined) this.#assembly.transactionArrived(hash);
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
    await serveTransactions(
      running.host,
      chain.rules.chainId,
      (hash) => this.#o.mempool.get(hash)?.tx ?? this.#assembly.held(hash),
      this.#fetchLimits(),
      log,
    );
    await serveHeld(
      running.host,
      chain.rules.chainId,
      (height) => this.#host.held(height).map(heldMessage),
      this.#heldLimits(),
      log,
    );
    // Proposals and votes travel on separate topics, so each can be judged and penalised on its own.
    gossip.on<ProposalEnvelope>('proposal', {
      validate: (input, from) => this.#check.proposal(input, this.#peer(from)),
      deliver: (envelope, from) => this.#deliverProposal(envelope, this.#peer(from)),
      // Straight from the proposer (it flood-publishes): announced to the mesh, not forwarded (gossip.ts).
      fromAuthor: (envelope, from) => publicKeyOfPeer(from) === envelope.proposal.proposer,
    });
    gossip.on<Envelope>('vote', {
      validate: (input, from) => this.#check.vote(input, this.#peer(from)),
      deliver: (envelope) => void this.#host.onMessage(envelope.message),
      fromAuthor: (envelope, from) =>
        envelope.message.kind === 'vote' && publicKeyOfPeer(from) === envelope.message.vote.authority,
    });
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
      fromAuthor: ({ author }, from) => typeof author === 'string' && author === publicKeyOfPeer(from),
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

  /**
   * Only an authority at the proposal's height completes it; a node that is not (an observer)
   * follows by sync and has no reason to fetch a proposal's transactions.
   */
  #deliverProposal(envelope: ProposalEnvelope, from: string): void {
    const me = this.#o.authority?.signer.publicKey;
    if (me && this.#o.chain.authoritiesAt(envelope.proposal.height).includes(me))
      this.#assembly.receive(envelope.proposal, from);
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

  /**
   * Asks `peer` (or the next connected peer in turn) for what it holds for `height`, and takes each
   * message of the answer as if it had come by gossip from that peer: judged the same way, then
   * to proposal assembly or the host. A failed request is only logged: the next stall asks again.
   */
  async #fetchHeld(height: number, peer?: string): Promise<void> {
    const { running, chain, log } = this.#o;
    let id = peer === undefined ? undefined : this.#peers.get(peer);
    if (!id) {
      const connected = running.host.getPeers();
      id = connected[this.#heldTurn++ % Math.max(1, connected.length)];
    }
    if (!id || this.#stopped) return;
    const from = this.#peer(id);
    let raw: unknown[];
    try {
      raw = await fetchHeld(running.host, chain.rules.chainId, id, height, this.#heldLimits());
    } catch (e) {
      log.debug({ err: (e as Error).message, peer: from, height }, 'held request failed');
      return;
    }
    let rejected = 0;
    for (const input of raw) {
      if (this.#stopped) return;
      let judged: ReturnType<ConsensusGossipCheck['held']>;
      try {
        judged = this.#check.held(input, from);
      } catch {
        judged = { verdict: 'reject', reason: 'unreadable' };
      }
      if (judged.verdict !== 'accept') {
        if (judged.verdict === 'reject') rejected++;
        continue;
      }
      if ('proposal' in judged.value) this.#deliverProposal(judged.value, from);
      else await this.#host.onMessage((judged.value as Envelope).message);
    }
    if (rejected > 0)
      log.warn({ peer: from, height, rejected }, 'a peer answered a held request with invalid messages');
  }
}
