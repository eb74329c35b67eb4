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
import { Chain } from '../../chain/chain.ts';
import { MemoryChainStore } from '../../chain/store.ts';
import { Mempool } from '../../mempool/mempool.ts';
import { type Block, blockHash, certificateProblem, decodeBlock } from '../../protocol/block.ts';
import { DEFAULT_PARAMS, type Genesis } from '../../protocol/genesis.ts';
import { type Hex, sha256, sha256Hex } from '../../protocol/hash.ts';
import { keyPairFromSeed, Signer, verifySignature } from '../../protocol/signature.ts';
import {
  signTransactionWith,
  type Transaction,
  transactionHash,
  transactionSignatureValid,
} from '../../protocol/transaction.ts';
import { registry } from '../../state/module.ts';
import { anchorModule } from '../../state/modules/anchor.ts';
import { ChainApplication } from './chain-application.ts';
import { type EngineOutput, TendermintEngine, type TimeoutEvent, type Timeouts } from './engine.ts';
import { EventQueue } from './event-queue.ts';
import {
  type ConsensusMessage,
  decodeConsensusMessage,
  heightOf,
  type SignatureCheck,
  senderOf,
  signProposal,
  signVote,
} from './messages.ts';
import { Random } from './prng.ts';
import { MemorySignedVoteLog } from './signed-log.ts';

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
  readonly restartAtMs: number;
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
  /** How often a node checks whether it is stalled (then it resends its votes and may sync). */
  readonly tickIntervalMs?: number;
  /** How often clients resubmit transactions that are not final yet. */
  readonly clientRetryMs?: number;
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
  | { readonly kind: 'sync-request'; readonly fromHeight: number }
  | { readonly kind: 'sync-response'; readonly blocks: readonly Block[] };

type SimEvent =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly payload: Payload }
  | {
      readonly kind: 'timeout';
      readonly node: number;
      readonly incarnation: number;
      readonly t: TimeoutEvent;
    }
  | {
      readonly kind: 'start-height';
      readonly node: number;
      readonly incarnation: number;
      readonly height: number;
    }
  | { readonly kind: 'tick'; readonly node: number; readonly incarnation: number }
  | { readonly kind: 'submit'; readonly tx: number }
  | { readonly kind: 'client-tick' }
  | { readonly kind: 'crash'; readonly node: number }
  | { readonly kind: 'restart'; readonly node: number };

const SYNC_BATCH = 20;
export const SIM_GENESIS_TIME = 1_750_000_000_000;
const MODULES = registry([anchorModule]);

/** One authority: what survives a crash (keys, store, signed-vote log) and what does not. */
class SimNode {
  readonly index: number;
  readonly signer: Signer;
  readonly byzantine: boolean;
  readonly store = new MemoryChainStore();
  readonly signedLog = new MemorySignedVoteLog();
  // Volatile: replaced on restart.
  chain!: Chain;
  app!: ChainApplication;
  engine!: TendermintEngine;
  mempool!: Mempool;
  up = false;
  incarnation = 0;
  highestSeen = 0;
  highestSeenFrom = -1;
  syncBusyUntil = 0;
  /** Height at the previous tick: unchanged means stalled. */
  lastTickState = '';
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
  constructor(index: number, signer: Signer, byzantine: boolean) {
    this.index = index;
    this.signer = signer;
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
  }

  /** A node's store, e.g. for an auditor to verify its chain after the run. */
  storeOf(index: number): MemoryChainStore {
    const node = this.#nodes[index];
    if (!node) throw new RangeError(`no node ${index}`);
    return node.store;
  }

  /** Virtual wall clock: what a node's Date.now would say (whole ms; virtual time has fractions). */
  get #wallClock(): number {
    return SIM_GENESIS_TIME + Math.floor(this.#queue.now);
  }

  async run(): Promise<SimulationResult> {
    const { config } = this;
    for (const node of this.#nodes) await this.#boot(node);
    for (const crash of config.crashes ?? []) {
      this.#queue.schedule(crash.atMs, { kind: 'crash', node: crash.node });
      this.#queue.schedule(crash.restartAtMs, { kind: 'restart', node: crash.node });
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
      case 'timeout': {
        const node = this.#live(event.node, event.incarnation);
        if (node) await this.#apply(node, node.engine.onTimeout(event.t));
        return;
      }
      case 'start-height': {
        const node = this.#live(event.node, event.incarnation);
        // Block sync may already have moved the head past this height.
        if (node && node.chain.head.height + 1 === event.height && node.engine.height < event.height) {
          await this.#startHeight(node);
        }
        return;
      }
      case 'tick':
        return this.#tick(event.node, event.incarnation);
      case 'submit':
        return this.#submit(event.tx);
      case 'client-tick':
        return this.#clientTick();
      case 'crash': {
        const node = this.#nodes[event.node] as SimNode;
        node.up = false;
        node.incarnation++; // pending timeouts of the dead engine are void
        return;
      }
      case 'restart': {
        const node = this.#nodes[event.node] as SimNode;
        node.restarts++;
        node.consensusDecisionsSinceRestart = 0;
        return this.#boot(node);
      }
    }
  }

  /** Opens the node's chain on its store (resuming from it) and starts a fresh engine. */
  async #boot(node: SimNode): Promise<void> {
    node.chain = await Chain.openStorage(node.store, this.genesis, MODULES, this.#memo.tx);
    node.mempool = new Mempool({ maxTransactions: 100_000, maxBytes: 256 * 1024 * 1024 });
    node.app = new ChainApplication({
      chain: node.chain,
      mempool: node.mempool,
      proposer: node.signer.publicKey,
      now: () => this.#wallClock,
    });
    node.engine = new TendermintEngine({
      chainId: this.genesis.chainId,
      signer: node.signer,
      app: node.app,
      signedLog: node.signedLog,
      timeouts: this.config.timeouts,
      signatureCheck: this.#memo.check,
    });
    node.up = true;
    node.incarnation++;
    node.syncBusyUntil = 0;
    node.highestSeen = 0;
    node.lastTickState = '';
    await this.#startHeight(node);
    this.#queue.schedule(this.#tickInterval, {
      kind: 'tick',
      node: node.index,
      incarnation: node.incarnation,
    });
  }

  async #startHeight(node: SimNode): Promise<void> {
    const height = node.chain.head.height + 1;
    if (!node.startedAt.has(height)) node.startedAt.set(height, this.#queue.now);
    await this.#apply(node, node.engine.start(height));
  }

  #live(index: number, incarnation: number): SimNode | undefined {
    const node = this.#nodes[index] as SimNode;
    return node.up && node.incarnation === incarnation ? node : undefined;
  }

  get #tickInterval(): number {
    return this.config.tickIntervalMs ?? 500;
  }

  /** Carries out what an engine asked for. */
  async #apply(node: SimNode, outputs: readonly EngineOutput[]): Promise<void> {
    for (const output of outputs) {
      switch (output.type) {
        case 'broadcast':
          if (node.byzantine && senderOf(output.message) === node.signer.publicKey)
            this.#equivocate(node, output.message);
          else this.#broadcast(node, { kind: 'consensus', message: output.message });
          break;
        case 'schedule-timeout': {
          const { height, round, step } = output;
          this.#queue.schedule(output.delayMs, {
            kind: 'timeout',
            node: node.index,
            incarnation: node.incarnation,
            t: { height, round, step },
          });
          break;
        }
        case 'decide':
          await this.#commitDecision(node, output.block);
          break;
        case 'evidence':
          node.evidence.push(output);
          break;
      }
    }
  }

  async #commitDecision(node: SimNode, block: Block): Promise<void> {
    const { chain } = node;
    const height = block.header.height;
    if (height !== chain.head.height + 1) return;
    await chain.commit(block, node.app.executionOf(block));
    this.#committed(node, block, 'consensus');
    const started = node.startedAt.get(height);
    if (started !== undefined) node.finalityMs.push(this.#queue.now - started);
    this.#queue.schedule(this.config.blockIntervalMs, {
      kind: 'start-height',
      node: node.index,
      incarnation: node.incarnation,
      height: height + 1,
    });
  }

  /** Bookkeeping common to a decision and a synced block. */
  #committed(node: SimNode, block: Block, how: 'consensus' | 'sync'): void {
    node.app.committed();
    const height = block.header.height;
    node.decisions.set(height, blockHash(block.header));
    if (how === 'consensus') {
      node.consensusDecisions++;
      node.consensusDecisionsSinceRestart++;
    } else node.syncedBlocks++;
    const hashes = block.transactions.map((tx) => transactionHash(tx));
    node.mempool.remove(hashes);
    for (const hash of hashes) {
      const i = this.#txIndex.get(hash);
      if (i === undefined) continue;
      node.finalTxs.add(hash);
      const record = this.#txs[i];
      if (record && !node.byzantine && record.firstFinalAt === undefined)
        record.firstFinalAt = this.#queue.now;
    }
    if (this.config.until?.(this.#view())) this.#stop = true;
  }

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
      payload.kind === 'consensus' ? from.consensus : payload.kind === 'tx' ? from.gossip : from.sync;
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
        // What arrives from a peer is untrusted: decode it as the network layer will.
        const decoded = decodeConsensusMessage(payload.message);
        if (!decoded.ok) return;
        const height = heightOf(decoded.value);
        if (height > node.highestSeen) {
          node.highestSeen = height;
          node.highestSeenFrom = from;
        }
        await this.#apply(node, node.engine.onMessage(decoded.value));
        // Two or more heights behind: consensus for our height is over, only sync can help.
        if (height >= node.engine.height + 2) this.#requestSync(node, from);
        return;
      }
      case 'tx':
        this.#admit(node, payload.tx, false);
        return;
      case 'sync-request':
        return this.#serveSync(node, from, payload.fromHeight);
      case 'sync-response':
        return this.#applySync(node, from, payload.blocks);
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
  // Block sync

  #requestSync(node: SimNode, peer: number): void {
    if (peer < 0 || this.#queue.now < node.syncBusyUntil) return;
    // Wait for the answer (or give up) before asking again.
    node.syncBusyUntil =
      this.#queue.now + 4 * (this.config.network.latencyMs + this.config.network.jitterMs) + 50;
    this.#send(node, peer, { kind: 'sync-request', fromHeight: node.chain.head.height + 1 });
  }

  /**
   * Every interval: if the height did not advance since the last tick, resend the messages we hold
   * for it (gossip: some may have been lost, or shown only to some peers) and, if a peer spoke from
   * a later height, fetch blocks from it.
   */
  async #tick(index: number, incarnation: number): Promise<void> {
    const node = this.#live(index, incarnation);
    if (!node) return;
    const { engine } = node;
    const state = `${engine.height}/${engine.decided}`;
    if (state === node.lastTickState) {
      await this.#apply(node, engine.rebroadcast());
      if (node.highestSeen > engine.height) this.#requestSync(node, node.highestSeenFrom);
    }
    node.lastTickState = state;
    this.#queue.schedule(this.#tickInterval, { kind: 'tick', node: index, incarnation });
  }

  async #serveSync(node: SimNode, to: number, fromHeight: number): Promise<void> {
    const blocks: Block[] = [];
    const last = Math.min(node.chain.head.height, fromHeight + SYNC_BATCH - 1);
    for (let h = Math.max(1, fromHeight); h <= last; h++) {
      const block = await node.chain.block(h);
      if (block) blocks.push(block);
    }
    this.#send(node, to, { kind: 'sync-response', blocks });
  }

  /** Commits synced blocks in order, each only after checking it and its certificate. */
  async #applySync(node: SimNode, from: number, blocks: readonly Block[]): Promise<void> {
    node.syncBusyUntil = 0;
    let progressed = false;
    for (const raw of blocks) {
      const { chain } = node;
      let block: Block;
      try {
        block = decodeBlock(raw);
      } catch {
        break;
      }
      if (block.header.height <= chain.head.height) continue;
      if (block.header.height !== chain.head.height + 1) break;
      if (certificateProblem(block.certificate, block.header, chain.authoritiesAt(block.header.height)))
        break;
      let execution: ReturnType<Chain['validate']>;
      try {
        execution = chain.validate(block);
      } catch {
        break;
      }
      await chain.commit(block, execution);
      this.#committed(node, block, 'sync');
      progressed = true;
      if (this.#stop) return;
    }
    if (!progressed) return;
    await this.#startHeight(node);
    // A full batch means the peer probably has more.
    if (blocks.length >= SYNC_BATCH) this.#requestSync(node, from);
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
        expiresAt: this.#wallClock + Math.floor(DEFAULT_PARAMS.maxTransactionTtlMs / 2),
      },
      this.#client,
    );
    const hash = transactionHash(tx);
    this.#txIndex.set(hash, this.#txs.length);
    this.#txs.push({ tx, hash, submittedAt: now, firstFinalAt: undefined });
    this.#submitted++;
    this.#submitTo(tx);
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
      height: node.chain.head.height,
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
