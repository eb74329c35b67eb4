/**
 * A deterministic, in-process simulation of a Tillid consortium running Tendermint.
 *
 * Everything that would be nondeterministic in a real network is driven from one seed: a virtual
 * clock (an event queue ordered by time and sequence number), a simulated network that delays,
 * drops, duplicates, reorders and partitions messages, crashes and restarts, Byzantine authorities
 * that equivocate, and clients submitting transactions. The nodes themselves are real: the real
 * engine, the real Chain on a MemoryChainStore with the anchor module, a real Mempool. A restarted
 * node is a new engine and a new Chain opened on the store it had, with the signed-vote log it had.
 *
 * A node that fell behind catches up with a small block-sync protocol: it asks a peer for
 * certified blocks above its head and checks each (chain.validate and certificateProblem) before
 * committing it.
 */
import { Chain } from '../../node/chain/chain.ts';
import { MemoryChainStore } from '../../node/chain/store.ts';
import { ConsensusHost } from '../../node/consensus/host.ts';
import type { EngineOutput, Timeouts } from '../../node/consensus/tendermint/engine.ts';
import {
  type ConsensusMessage,
  decodeConsensusMessage,
  type SignatureCheck,
  senderOf,
  signProposal,
  signVote,
} from '../../node/consensus/tendermint/messages.ts';
import { MemorySignedVoteLog } from '../../node/consensus/tendermint/signed-log.ts';
import { Mempool } from '../../node/mempool/mempool.ts';
import { type Block, blockHash } from '../../node/protocol/block.ts';
import { DEFAULT_PARAMS, type Genesis } from '../../node/protocol/genesis.ts';
import { type Hex, sha256, sha256Hex } from '../../node/protocol/hash.ts';
import { proveRotation } from '../../node/protocol/rotation.ts';
import { keyPairFromSeed, Signer, verifySignature } from '../../node/protocol/signature.ts';
import {
  signTransactionWith,
  type Transaction,
  transactionHash,
  transactionSignatureValid,
} from '../../node/protocol/transaction.ts';
import { type ModuleRegistry, registry } from '../../node/state/module.ts';
import { anchorModule } from '../../node/state/modules/anchor.ts';
import { governanceModule } from '../../node/state/modules/governance.ts';
import { EventQueue } from './event-queue.ts';
import { Random } from './prng.ts';

export interface NetworkConditions {
  readonly latencyMs: number;
  /** Extra uniform delay in [0, jitterMs]; this is what reorders messages. */
  readonly jitterMs: number;
  /** Probability a message is lost, before GST only. */
  readonly dropRate: number;
  /** Probability a message is delivered twice. */
  readonly duplicateRate: number;
}

export interface Partition {
  readonly fromMs: number;
  readonly toMs: number;
  /** Authority indexes; messages between different groups are lost. Unlisted nodes are isolated. */
  readonly groups: readonly (readonly number[])[];
}

export interface Crash {
  readonly node: number;
  readonly atMs: number;
  /** Infinity: down for good. */
  readonly restartAtMs: number;
  /** Restart with an empty data directory: no chain and no signed-vote log. */
  readonly emptyDataDir?: boolean;
  /** Restart with the chain but without the signed-vote log (a store restored from a block backup). */
  readonly lostVoteLog?: boolean;
}

export interface SimulationConfig {
  readonly seed: number;
  readonly authorities: number;
  /** Indexes of authorities that equivocate: different proposals and votes to different peers. */
  readonly byzantine?: readonly number[];
  readonly network: NetworkConditions;
  /** Global stabilisation time: from then on no message is dropped and partitions are healed. */
  readonly gstMs: number;
  readonly partitions?: readonly Partition[];
  readonly crashes?: readonly Crash[];
  /** Transactions submitted by clients at random times in [fromMs, toMs]. */
  readonly transactions?: { readonly count: number; readonly fromMs: number; readonly toMs: number };
  /** Pause between committing a block and starting the next height (timeout_commit). */
  readonly blockIntervalMs: number;
  readonly timeouts: Timeouts;
  /** Give up at this virtual time. */
  readonly maxTimeMs: number;
  /** Stop as soon as this holds (checked after every commit). */
  readonly until?: (sim: SimulationView) => boolean;
  /**
   * How often a node checks whether it is stalled (then it resends its votes and may sync), and
   * how long it waits for an unanswered block request. Default: the host's, as in production.
   */
  readonly tickIntervalMs?: number;
  readonly syncTimeoutMs?: number;
  /** How often clients resubmit transactions that are not final yet. */
  readonly clientRetryMs?: number;
  /** With an empty mempool, wait this long before an empty block (default: blockIntervalMs). */
  readonly emptyBlockIntervalMs?: number;
  /** Per node, how far its wall clock (block timestamps) is ahead (+) or behind (−), in ms. */
  readonly clockSkewMs?: readonly number[];
  /** Nodes that never start (an authority that is down for good from the beginning). */
  readonly downFromStart?: readonly number[];
  /**
   * Key rotations (governance.rotate): at `atMs` the authority submits the rotation to a key
   * derived from the seed; at `restartAtMs` its node restarts with that key (store and signed-vote
   * log kept), as an operator swaps the key file.
   */
  readonly rotations?: readonly {
    readonly node: number;
    readonly atMs: number;
    readonly restartAtMs: number;
  }[];
}

export interface TrafficCounter {
  messages: number;
  bytes: number;
}

export interface NodeReport {
  readonly index: number;
  readonly publicKey: Hex;
  readonly byzantine: boolean;
  readonly height: number;
  /** Block hash per height, from the node's own decisions and from block sync. */
  readonly decisions: ReadonlyMap<number, Hex>;
  readonly consensusDecisions: number;
  readonly syncedBlocks: number;
  readonly restarts: number;
  /** Decisions reached by consensus (not sync) since the last restart. */
  readonly consensusDecisionsSinceRestart: number;
  readonly consensus: TrafficCounter;
  readonly sync: TrafficCounter;
  readonly gossip: TrafficCounter;
  readonly evidence: readonly Extract<EngineOutput, { type: 'evidence' }>[];
  /** ms from starting a height to deciding it, per height decided by consensus. */
  readonly finalityMs: readonly number[];
  readonly finalTransactions: number;
  /** Rounds each consensus decision took (1 = round 0). */
  readonly decidedRounds: readonly number[];
  /** Proposer turns missed before a later-round decision, by authority key. */
  readonly missedProposals: ReadonlyMap<Hex, number>;
  readonly roundChanges: number;
  /** Slots in which this (honest) authority signed two different messages: must stay 0. */
  readonly doubleSigned: number;
  /** When this node committed each height (virtual ms), by decision or sync. */
  readonly committedAt: ReadonlyMap<number, number>;
}

export interface SimulationView {
  readonly now: number;
  readonly nodes: readonly NodeReport[];
  readonly transactionsSubmitted: number;
  readonly transactionsTotal: number;
}

export interface SimulationResult extends SimulationView {
  readonly config: SimulationConfig;
  readonly genesis: Genesis;
  /** True when `until` held before maxTimeMs. */
  readonly stoppedEarly: boolean;
  readonly events: number;
  /** Each honest node's stored chain: block hash per height, read back from its store. */
  readonly storedChains: readonly (readonly Hex[])[];
  readonly transactions: readonly { hash: Hex; submittedAt: number; firstFinalAt: number | undefined }[];
}

type Payload =
  | { readonly kind: 'consensus'; readonly message: ConsensusMessage }
  | { readonly kind: 'tx'; readonly tx: Transaction }
  | { readonly kind: 'status'; readonly height: number }
  | { readonly kind: 'sync-request'; readonly fromHeight: number }
  | { readonly kind: 'sync-response'; readonly blocks: readonly Block[] }
  /** "What do you hold for this height?" (HostNetwork.requestHeld), and the answer. */
  | { readonly kind: 'held-request'; readonly height: number }
  | { readonly kind: 'held-response'; readonly messages: readonly ConsensusMessage[] };

type SimEvent =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly payload: Payload }
  | { readonly kind: 'timer'; readonly node: number; readonly incarnation: number; readonly id: number }
  | { readonly kind: 'submit'; readonly tx: number }
  | { readonly kind: 'client-tick' }
  | { readonly kind: 'crash'; readonly node: number }
  | {
      readonly kind: 'restart';
      readonly node: number;
      readonly wipe: boolean;
      readonly loseVoteLog?: boolean;
      readonly rekey?: boolean;
    }
  | { readonly kind: 'rotate'; readonly node: number };

const SYNC_BATCH = 20;
export const SIM_GENESIS_TIME = 1_750_000_000_000;

/** One authority: what survives a crash (keys, store, signed-vote log) and what does not. */
class SimNode {
  readonly index: number;
  /** Replaced when the node restarts after a key rotation. */
  signer: Signer;
  /** The key a rotation moves this authority to. */
  rotatedTo: Signer | undefined;
  readonly byzantine: boolean;
  store = new MemoryChainStore();
  signedLog = new MemorySignedVoteLog();
  // Volatile: replaced on restart.
  chain!: Chain;
  host!: ConsensusHost;
  mempool!: Mempool;
  up = false;
  incarnation = 0;
  /** The host's pending timers, by id; a timer of an earlier incarnation never fires. */
  timers = new Map<number, () => Promise<void>>();
  nextTimer = 0;
  /** The peer asked next when the host names none (requestHeld): each in turn. */
  nextHeldPeer = 0;
  /** When this node started each height, for time to finality. */
  startedAt = new Map<number, number>();
  // Reporting.
  readonly decisions = new Map<number, Hex>();
  consensusDecisions = 0;
  consensusDecisionsSinceRestart = 0;
  syncedBlocks = 0;
  restarts = 0;
  readonly consensus: TrafficCounter = { messages: 0, bytes: 0 };
  readonly sync: TrafficCounter = { messages: 0, bytes: 0 };
  readonly gossip: TrafficCounter = { messages: 0, bytes: 0 };
  readonly evidence: Extract<EngineOutput, { type: 'evidence' }>[] = [];
  readonly finalityMs: number[] = [];
  readonly finalTxs = new Set<Hex>();
  /** (height, round) → rounds it took, for the round metrics the bench reports. */
  readonly decidedRounds: number[] = [];
  readonly missedProposals = new Map<Hex, number>();
  roundChanges = 0;
  /** What this authority signed per slot, across restarts (even a wiped one): to catch signing twice. */
  readonly signedSlots = new Map<string, string>();
  doubleSigned = 0;
  readonly committedAt = new Map<number, number>();
  constructor(index: number, signer: Signer, byzantine: boolean) {
    this.index = index;
    this.signer = signer;
    this.rotatedTo = undefined;
    this.byzantine = byzantine;
  }
}

/** Authority and client keys are derived from the seed, so a seed fixes the proposer order too. */
const keyFor = (seed: number, label: string) => keyPairFromSeed(sha256(`tillid-sim/${seed}/${label}`));

/**
 * Signature checks are deterministic, so the simulated nodes share one memo of verifySignature:
 * simulating 98 authorities would otherwise spend nearly all its time re-verifying the same vote
 * 97 times. Each engine still checks every message it accepts.
 */
function sharedSignatureMemo(): { check: SignatureCheck; tx: (tx: Transaction, hash: Hex) => boolean } {
  const votes = new Map<string, boolean>();
  const txs = new Map<string, boolean>();
  const check: SignatureCheck = (publicKey, message, signature) => {
    const key = `${publicKey}${signature}${Buffer.from(message).toString('hex')}`;
    let ok = votes.get(key);
    if (ok === undefined) {
      if (votes.size > 200_000) votes.clear();
      ok = verifySignature(publicKey, message, signature);
      votes.set(key, ok);
    }
    return ok;
  };
  const tx = (t: Transaction, hash: Hex) => {
    const key = `${hash}${t.signature}`;
    let ok = txs.get(key);
    if (ok === undefined) {
      if (txs.size > 200_000) txs.clear();
      ok = transactionSignatureValid(t, hash);
      txs.set(key, ok);
    }
    return ok;
  };
  return { check, tx };
}

export class Simulation {
  readonly config: SimulationConfig;
  readonly genesis: Genesis;
  readonly #random: Random;
  readonly #queue = new EventQueue<SimEvent>();
  readonly #nodes: SimNode[];
  readonly #memo = sharedSignatureMemo();
  readonly #client: Signer;
  readonly #txs: { tx: Transaction; hash: Hex; submittedAt: number; firstFinalAt: number | undefined }[] = [];
  readonly #txIndex = new Map<Hex, number>();
  #submitted = 0;
  #events = 0;
  #stop = false;
  readonly #sizes = new WeakMap<object, number>();
  /** Anchors, plus governance for key rotations. */
  readonly modules: ModuleRegistry;

  constructor(config: SimulationConfig) {
    this.config = config;
    this.#random = new Random(config.seed);
    const byzantine = new Set(config.byzantine ?? []);
    const keys = Array.from({ length: config.authorities }, (_, i) => keyFor(config.seed, `authority/${i}`));
    this.#nodes = keys.map((k, i) => new SimNode(i, new Signer(k), byzantine.has(i)));
    this.#client = new Signer(keyFor(config.seed, 'client'));
    this.genesis = {
      chainId: 'tillid-sim',
      genesisTime: SIM_GENESIS_TIME,
      authorities: keys.map((k, i) => ({
        name: `Kommune ${i + 1}`,
        cvr: String(29_000_000 + i),
        publicKey: k.publicKey,
      })),
      params: DEFAULT_PARAMS,
    };
    this.modules = registry([anchorModule, governanceModule(this.genesis)]);
  }

  /** A node's store, e.g. for an auditor to verify its chain after the run. */
  storeOf(index: number): MemoryChainStore {
    const node = this.#nodes[index];
    if (!node) throw new RangeError(`no node ${index}`);
    return node.store;
  }

  /** Virtual wall clock of node `index`: what its Date.now would say (whole ms), skew included. */
  #wallClock(index?: number): number {
    const skew = index === undefined ? 0 : (this.config.clockSkewMs?.[index] ?? 0);
    return SIM_GENESIS_TIME + Math.floor(this.#queue.now) + skew;
  }

  async run(): Promise<SimulationResult> {
    const { config } = this;
    for (const node of this.#nodes) {
      if ((config.downFromStart ?? []).includes(node.index)) continue;
      await this.#boot(node);
    }
    for (const crash of config.crashes ?? []) {
      this.#queue.schedule(crash.atMs, { kind: 'crash', node: crash.node });
      if (Number.isFinite(crash.restartAtMs))
        this.#queue.schedule(crash.restartAtMs, {
          kind: 'restart',
          node: crash.node,
          wipe: crash.emptyDataDir ?? false,
          loseVoteLog: crash.lostVoteLog ?? false,
        });
    }
    for (const r of config.rotations ?? []) {
      const node = this.#nodes[r.node] as SimNode;
      node.rotatedTo = new Signer(keyFor(config.seed, `authority/${r.node}/rotated`));
      this.#queue.schedule(r.atMs, { kind: 'rotate', node: r.node });
      this.#queue.schedule(r.restartAtMs, { kind: 'crash', node: r.node });
      this.#queue.schedule(r.restartAtMs + 1, { kind: 'restart', node: r.node, wipe: false, rekey: true });
    }
    const txs = config.transactions;
    if (txs) {
      for (let i = 0; i < txs.count; i++) {
        this.#queue.schedule(this.#random.between(txs.fromMs, txs.toMs), { kind: 'submit', tx: i });
      }
      this.#queue.schedule(config.clientRetryMs ?? 1000, { kind: 'client-tick' });
    }
    let stoppedEarly = false;
    for (;;) {
      const next = this.#queue.pop();
      if (!next || next.time > config.maxTimeMs) break;
      this.#events++;
      await this.#handle(next.event);
      if (this.#stop) {
        stoppedEarly = true;
        break;
      }
    }
    return this.#result(stoppedEarly);
  }

  // -------------------------------------------------------------------------------------------
  // Events

  async #handle(event: SimEvent): Promise<void> {
    switch (event.kind) {
      case 'deliver':
        return this.#deliver(event.from, event.to, event.payload);
      case 'timer': {
        const node = this.#live(event.node, event.incarnation);
        const run = node?.timers.get(event.id);
        if (!node || !run) return;
        node.timers.delete(event.id);
        return run();
      }
      case 'submit':
        return this.#submit(event.tx);
      case 'client-tick':
        return this.#clientTick();
      case 'crash': {
        const node = this.#nodes[event.node] as SimNode;
        node.up = false;
        node.incarnation++; // pending timers of the dead host are void
        node.timers = new Map();
        return;
      }
      case 'rotate':
        return this.#rotate(this.#nodes[event.node] as SimNode);
      case 'restart': {
        const node = this.#nodes[event.node] as SimNode;
        if (node.up) return;
        if (event.rekey && node.rotatedTo) node.signer = node.rotatedTo;
        node.restarts++;
        node.consensusDecisionsSinceRestart = 0;
        if (event.wipe) {
          // An empty data directory: no chain, and no record of what this authority signed. Its key
          // has signed before, so the node must treat its log as lost (production does: a missing
          // log file is lost unless provisioning created it for a key that never signed).
          node.store = new MemoryChainStore();
          node.signedLog = new MemorySignedVoteLog({ lost: true });
        } else if (event.loseVoteLog) {
          // The chain survives; the record of what this authority signed does not, and says so.
          node.signedLog = new MemorySignedVoteLog({ lost: true });
        }
        return this.#boot(node);
      }
    }
  }

  /** Opens the node's chain on its store (resuming from it) and starts a fresh host and engine. */
  async #boot(node: SimNode): Promise<void> {
    node.chain = await Chain.openStorage(node.store, this.genesis, this.modules, {
      signatureValid: this.#memo.tx,
    });
    node.mempool = new Mempool({ maxTransactions: 100_000, maxBytes: 256 * 1024 * 1024 });
    node.up = true;
    node.incarnation++;
    node.timers = new Map();
    const incarnation = node.incarnation;
    const queue = this.#queue;
    node.host = new ConsensusHost({
      chain: node.chain,
      mempool: node.mempool,
      clock: () => this.#wallClock(node.index),
      timers: {
        now: () => queue.now,
        set: (delayMs, run) => {
          const id = node.nextTimer++;
          node.timers.set(id, run);
          queue.schedule(delayMs, { kind: 'timer', node: node.index, incarnation, id });
          return id;
        },
        clear: (id) => void node.timers.delete(id),
      },
      network: {
        broadcast: (message) => {
          this.#noteSigned(node, message);
          if (node.byzantine && senderOf(message) === node.signer.publicKey) this.#equivocate(node, message);
          else this.#broadcast(node, { kind: 'consensus', message });
        },
        status: (height) => this.#broadcast(node, { kind: 'status', height }),
        requestBlocks: (peer, fromHeight) =>
          this.#send(node, Number(peer), { kind: 'sync-request', fromHeight }),
        requestHeld: (height, peer) => {
          const others = this.#nodes.filter((p) => p !== node);
          const to =
            peer !== undefined
              ? Number(peer)
              : (others[node.nextHeldPeer++ % others.length] as SimNode).index;
          this.#send(node, to, { kind: 'held-request', height });
        },
        punish: () => {},
      },
      authority: { signer: node.signer, signedLog: node.signedLog },
      timeouts: this.config.timeouts,
      signatureCheck: this.#memo.check,
      blockIntervalMs: this.config.blockIntervalMs,
      ...(this.config.emptyBlockIntervalMs !== undefined
        ? { emptyBlockIntervalMs: this.config.emptyBlockIntervalMs }
        : {}),
      ...(this.config.tickIntervalMs !== undefined ? { tickIntervalMs: this.config.tickIntervalMs } : {}),
      ...(this.config.syncTimeoutMs !== undefined ? { syncTimeoutMs: this.config.syncTimeoutMs } : {}),
      events: {
        heightStarted: (height) => {
          if (!node.startedAt.has(height)) node.startedAt.set(height, queue.now);
        },
        committed: (block, how) => this.#committed(node, block, how),
        evidence: (output) => node.evidence.push(output),
        decided: (_height, round, missed) => {
          node.decidedRounds.push(round + 1);
          for (const key of missed) node.missedProposals.set(key, (node.missedProposals.get(key) ?? 0) + 1);
        },
        roundChanged: () => {
          node.roundChanges++;
        },
      },
    });
    await node.host.start();
  }

  /** An honest authority's own messages: two different ones for one slot is signing twice. */
  #noteSigned(node: SimNode, message: ConsensusMessage): void {
    if (node.byzantine || senderOf(message) !== node.signer.publicKey) return;
    const [slot, value] =
      message.kind === 'vote'
        ? [
            `${message.vote.height}/${message.vote.round}/${message.vote.type}`,
            String(message.vote.blockHash),
          ]
        : [
            `${message.proposal.height}/${message.proposal.round}/proposal`,
            blockHash(message.proposal.block.header),
          ];
    const before = node.signedSlots.get(slot);
    if (before === undefined) node.signedSlots.set(slot, value);
    else if (before !== value) node.doubleSigned++;
  }

  #live(index: number, incarnation: number): SimNode | undefined {
    const node = this.#nodes[index] as SimNode;
    return node.up && node.incarnation === incarnation ? node : undefined;
  }

  /** Bookkeeping common to a decision and a synced block. */
  #committed(node: SimNode, block: Block, how: 'consensus' | 'sync'): void {
    const height = block.header.height;
    node.decisions.set(height, blockHash(block.header));
    node.committedAt.set(height, this.#queue.now);
    if (how === 'consensus') {
      node.consensusDecisions++;
      node.consensusDecisionsSinceRestart++;
      const started = node.startedAt.get(height);
      if (started !== undefined) node.finalityMs.push(this.#queue.now - started);
    } else node.syncedBlocks++;
    for (const tx of block.transactions) {
      const hash = transactionHash(tx);
      const i = this.#txIndex.get(hash);
      if (i === undefined) continue;
      node.finalTxs.add(hash);
      const record = this.#txs[i];
      if (record && !node.byzantine && record.firstFinalAt === undefined)
        record.firstFinalAt = this.#queue.now;
    }
    this.#lastDecisionAt = Math.max(this.#lastDecisionAt, this.#queue.now);
    if (this.config.until?.(this.#view())) this.#stop = true;
  }

  #lastDecisionAt = 0;

  // -------------------------------------------------------------------------------------------
  // The network

  #connected(from: number, to: number): boolean {
    const now = this.#queue.now;
    if (now >= this.config.gstMs) return true;
    for (const p of this.config.partitions ?? []) {
      if (now < p.fromMs || now >= p.toMs) continue;
      const group = p.groups.findIndex((g) => g.includes(from));
      if (group < 0 || !(p.groups[group] as readonly number[]).includes(to)) return false;
    }
    return true;
  }

  #sizeOf(payload: Payload): number {
    let size = this.#sizes.get(payload);
    if (size === undefined) {
      size = Buffer.byteLength(JSON.stringify(payload));
      this.#sizes.set(payload, size);
    }
    return size;
  }

  #send(from: SimNode, to: number, payload: Payload): void {
    const counter =
      payload.kind === 'consensus' || payload.kind.startsWith('held')
        ? from.consensus
        : payload.kind === 'tx'
          ? from.gossip
          : from.sync;
    counter.messages++;
    counter.bytes += this.#sizeOf(payload);
    const { network, gstMs } = this.config;
    const beforeGst = this.#queue.now < gstMs;
    if (!this.#connected(from.index, to)) return;
    if (beforeGst && this.#random.chance(network.dropRate)) return;
    const copies = this.#random.chance(network.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = network.latencyMs + this.#random.next() * network.jitterMs;
      this.#queue.schedule(delay, { kind: 'deliver', from: from.index, to, payload });
    }
  }

  #broadcast(from: SimNode, payload: Payload): void {
    for (const to of this.#nodes) if (to !== from) this.#send(from, to.index, payload);
  }

  async #deliver(from: number, to: number, payload: Payload): Promise<void> {
    const node = this.#nodes[to] as SimNode;
    if (!node.up) return;
    switch (payload.kind) {
      case 'consensus': {
        // What arrives from a peer is untrusted: decode and admit it as the gossip validator does.
        const decoded = decodeConsensusMessage(payload.message);
        if (!decoded.ok) return;
        if (node.host.admit(decoded.value, String(from)).verdict !== 'accept') return;
        return node.host.onMessage(decoded.value);
      }
      case 'tx':
        this.#admit(node, payload.tx, false);
        return;
      case 'status':
        // Straight from its sender: the sender's own head.
        return node.host.onStatus(String(from), payload.height, this.#nodes[from]?.signer.publicKey);
      case 'sync-request':
        return this.#serveSync(node, from, payload.fromHeight);
      case 'sync-response':
        return node.host.onBlocks(String(from), payload.blocks);
      case 'held-request':
        return this.#send(node, from, { kind: 'held-response', messages: node.host.held(payload.height) });
      case 'held-response':
        // Each answered message is untrusted, as a gossiped one.
        for (const message of payload.messages) {
          const decoded = decodeConsensusMessage(message);
          if (!decoded.ok || node.host.admit(decoded.value, String(from)).verdict !== 'accept') continue;
          await node.host.onMessage(decoded.value);
        }
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Byzantine behaviour

  /**
   * An equivocating authority: for everything its (otherwise honest) engine sends, it signs a
   * conflicting twin for the same height, round and type, and sends one, the other or both to
   * each peer (both to at least one, so that the equivocation can be caught). Its signed-vote log
   * does not stop it: it signs the twins itself.
   */
  #equivocate(node: SimNode, message: ConsensusMessage): void {
    const twin = this.#twin(node, message);
    const peers = this.#nodes.filter((p) => p !== node);
    const witness = this.#random.pick(peers);
    for (const peer of peers) {
      const r = peer === witness ? 1 : this.#random.next();
      if (!twin || r < 0.4) this.#send(node, peer.index, { kind: 'consensus', message });
      else if (r < 0.8) this.#send(node, peer.index, { kind: 'consensus', message: twin });
      else {
        this.#send(node, peer.index, { kind: 'consensus', message });
        this.#send(node, peer.index, { kind: 'consensus', message: twin });
      }
    }
  }

  #twin(node: SimNode, message: ConsensusMessage): ConsensusMessage | undefined {
    if (message.kind === 'vote') {
      const { vote } = message;
      // The same twin every time it is (re)sent: one equivocation per slot, not a new one per send.
      const fake = sha256Hex(`twin/${vote.height}/${vote.round}/${vote.type}`);
      const other = vote.blockHash === null ? fake : null;
      return { kind: 'vote', vote: signVote({ ...vote, blockHash: other }, node.signer) };
    }
    const { proposal } = message;
    try {
      const { block } = node.chain.propose([], proposal.block.header.timestamp + 1, node.signer.publicKey);
      if (blockHash(block.header) === blockHash(proposal.block.header)) return undefined;
      return {
        kind: 'proposal',
        proposal: signProposal({ ...proposal, block, validRound: -1 }, node.signer),
      };
    } catch {
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Block sync (serving side; the asking side is the host's)

  async #serveSync(node: SimNode, to: number, fromHeight: number): Promise<void> {
    const blocks: Block[] = [];
    const last = Math.min(node.chain.head.height, fromHeight + SYNC_BATCH - 1);
    for (let h = Math.max(1, fromHeight); h <= last; h++) {
      const block = await node.chain.block(h);
      if (block) blocks.push(block);
    }
    this.#send(node, to, { kind: 'sync-response', blocks });
  }

  // -------------------------------------------------------------------------------------------
  // Clients and mempools

  #admit(node: SimNode, tx: Transaction, gossip: boolean): void {
    const hash = transactionHash(tx);
    if (node.mempool.has(hash) || node.chain.receipt(hash) !== undefined) return;
    try {
      node.mempool.add({ tx, hash }, Buffer.byteLength(JSON.stringify(tx)));
    } catch {
      return;
    }
    node.host.transactionsArrived();
    if (gossip) this.#broadcast(node, { kind: 'tx', tx });
  }

  #submit(i: number): void {
    const now = this.#queue.now;
    const tx = signTransactionWith(
      {
        chainId: this.genesis.chainId,
        type: 'anchor.record',
        payload: { hash: this.#random.hex(32), docType: 'test', ref: 'ref-1' },
        signer: this.#client.publicKey,
        nonce: `sim-${this.config.seed}-${i}`.padEnd(8, '0'),
        // Well inside maxTransactionTtlMs of any block time from now on.
        expiresAt: this.#wallClock() + Math.floor(DEFAULT_PARAMS.maxTransactionTtlMs / 2),
      },
      this.#client,
    );
    const hash = transactionHash(tx);
    this.#txIndex.set(hash, this.#txs.length);
    this.#txs.push({ tx, hash, submittedAt: now, firstFinalAt: undefined });
    this.#submitted++;
    this.#submitTo(tx);
  }

  /** The authority signs its key rotation (the new key proves possession) and sends it to every node up. */
  #rotate(node: SimNode): void {
    if (!node.rotatedTo) return;
    const tx = signTransactionWith(
      {
        chainId: this.genesis.chainId,
        type: 'governance.rotate',
        payload: {
          publicKey: node.rotatedTo.publicKey,
          proof: proveRotation(this.genesis.chainId, node.signer.publicKey, node.rotatedTo),
        },
        signer: node.signer.publicKey,
        nonce: `sim-rotate-${this.config.seed}-${node.index}`,
        expiresAt: this.#wallClock() + Math.floor(DEFAULT_PARAMS.maxTransactionTtlMs / 2),
      },
      node.signer,
    );
    for (const up of this.#nodes) if (up.up) this.#admit(up, tx, false);
  }

  /** A client sends to one node that is up; that node gossips it on. */
  #submitTo(tx: Transaction): void {
    const up = this.#nodes.filter((n) => n.up);
    if (up.length > 0) this.#admit(this.#random.pick(up), tx, true);
  }

  /** Clients resubmit what is not final yet, as real ones do after a timeout. */
  #clientTick(): void {
    const retry = this.config.clientRetryMs ?? 1000;
    for (const record of this.#txs) {
      if (record.firstFinalAt === undefined && this.#queue.now - record.submittedAt >= retry)
        this.#submitTo(record.tx);
    }
    this.#queue.schedule(retry, { kind: 'client-tick' });
  }

  // -------------------------------------------------------------------------------------------
  // Reporting

  #report(node: SimNode): NodeReport {
    return {
      index: node.index,
      publicKey: node.signer.publicKey,
      byzantine: node.byzantine,
      height: node.chain?.head.height ?? 0,
      decisions: node.decisions,
      consensusDecisions: node.consensusDecisions,
      syncedBlocks: node.syncedBlocks,
      restarts: node.restarts,
      consensusDecisionsSinceRestart: node.consensusDecisionsSinceRestart,
      consensus: { ...node.consensus },
      sync: { ...node.sync },
      gossip: { ...node.gossip },
      evidence: node.evidence,
      finalityMs: node.finalityMs,
      finalTransactions: node.finalTxs.size,
      decidedRounds: node.decidedRounds,
      missedProposals: node.missedProposals,
      roundChanges: node.roundChanges,
      doubleSigned: node.doubleSigned,
      committedAt: node.committedAt,
    };
  }

  #view(): SimulationView {
    return {
      now: this.#queue.now,
      nodes: this.#nodes.map((n) => this.#report(n)),
      transactionsSubmitted: this.#submitted,
      transactionsTotal: this.config.transactions?.count ?? 0,
    };
  }

  async #result(stoppedEarly: boolean): Promise<SimulationResult> {
    const storedChains: Hex[][] = [];
    for (const node of this.#nodes) {
      const hashes: Hex[] = [];
      const head = node.store.head()?.height ?? 0;
      for (let h = 1; h <= head; h++) {
        const block = await node.store.getBlock(h);
        hashes.push(block ? blockHash(block.header) : 'missing');
      }
      storedChains.push(hashes);
    }
    return {
      ...this.#view(),
      config: this.config,
      genesis: this.genesis,
      stoppedEarly,
      events: this.#events,
      storedChains,
      transactions: this.#txs.map(({ hash, submittedAt, firstFinalAt }) => ({
        hash,
        submittedAt,
        firstFinalAt,
      })),
    };
  }
}

export const simulate = (config: SimulationConfig): Promise<SimulationResult> => new Simulation(config).run();
