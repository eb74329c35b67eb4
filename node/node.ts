/**
 * One Tillid node, assembled: store and chain, mempool and admission, block production, API.
 * This is the file to read to see how the parts connect; each part lives in its own folder.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { NodeMetrics } from './api/metrics.ts';
import { type BlockReceipts, buildApi, type NodeApi, type TransactionView } from './api/server.ts';
import { Chain } from './chain/chain.ts';
import { proveRead } from './chain/prove.ts';
import type { NodeConfig } from './config.ts';
import type { Consensus } from './consensus/consensus.ts';
import { ConsortiumConsensus } from './consensus/consortium.ts';
import { SoloAuthority } from './consensus/solo.ts';
import type { Timeouts } from './consensus/tendermint/engine.ts';
import { FileSignedVoteLog } from './consensus/tendermint/file-signed-log.ts';
import { readKeyFile } from './keyfile.ts';
import type { Logger } from './log.ts';
import { admitTransaction } from './mempool/admission.ts';
import { Mempool } from './mempool/mempool.ts';
import { VerifierPool } from './mempool/verifier-pool.ts';
import { Gossip, type Judgement, TOPICS, topicName } from './p2p/gossip.ts';
import { createHost, type RunningHost } from './p2p/host.ts';
import { blockHash } from './protocol/block.ts';
import type { Json, JsonObject } from './protocol/canonical.ts';
import { isTillidError, type TillidError } from './protocol/errors.ts';
import { type Authority, decodeGenesis, type Genesis } from './protocol/genesis.ts';
import type { Hex } from './protocol/hash.ts';
import { Signer } from './protocol/signature.ts';
import { signTransactionWith, type Transaction, transactionHash } from './protocol/transaction.ts';
import { VerifiedSignatures } from './protocol/verdicts.ts';
import { type ConsensusMessage, senderOf } from './protocol/votes.ts';
import { applicationModules } from './state/application.ts';
import { businessDay, clockOf, formatDate } from './state/contracts/calendar.ts';
import { type ChainEvent, eventsKey } from './state/events.ts';
import { anchorKey } from './state/modules/anchor.ts';
import { equivocations } from './state/modules/evidence.ts';
import { authoritySchedule, proposalKey } from './state/modules/governance.ts';

export const VERSION = '0.1.0';

const SUMMARY_INTERVAL_MS = 60_000;
const TX_GOSSIP_BATCH = 500;
const TX_GOSSIP_DELAY_MS = 10;
/** Admission outcomes that say nothing bad about the peer that relayed the transaction. */
const BLAMELESS = new Set(['TX_DUPLICATE', 'MEMPOOL_FULL', 'TX_EXPIRED', 'TX_EXPIRY_TOO_FAR']);

/** Rejections of transactions that never made it into a block, kept for status queries. */
const REJECTION_MEMORY = 100_000;
/** Recent blocks whose hashes are kept from their commit, so receipt queries need not read them. */
const RECENT_BLOCKS = 256;

export class TillidNode {
  readonly config: NodeConfig;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly api: FastifyInstance;
  readonly #consensus: Consensus;
  readonly #network: { running: RunningHost; gossip: Gossip; signedLog?: FileSignedVoteLog } | undefined;
  readonly #log: Logger;
  readonly #rejected = new Map<Hex, { code: string; message: string }>();
  /** Hash and transaction hashes of the last RECENT_BLOCKS committed blocks, for receipt queries. */
  readonly #recentBlocks = new Map<number, { readonly hash: Hex; readonly transactions: readonly Hex[] }>();
  #lastBlockAt: number | undefined;
  /** The authority set for the next height, refreshed on every commit, so status never reads the store. */
  #authorities: readonly Authority[];
  #startedAt = performance.now();
  #summary: NodeJS.Timeout | undefined;
  #finalizedSinceSummary = 0;
  #outbox: unknown[] = [];
  #outboxTimer: NodeJS.Timeout | undefined;

  readonly #verified: VerifiedSignatures;
  readonly #verifierPool: VerifierPool | undefined;

  private constructor(
    config: NodeConfig,
    chain: Chain,
    signer: Signer,
    verified: VerifiedSignatures,
    log: Logger,
    running: RunningHost | undefined,
  ) {
    this.config = config;
    this.chain = chain;
    this.#verified = verified;
    this.#verifierPool = config.verifyWorkers > 0 ? new VerifierPool(config.verifyWorkers) : undefined;
    this.#log = log;
    this.mempool = new Mempool(config.mempool);
    this.metrics = new NodeMetrics(
      () => this.mempool.size,
      () => this.#network?.running.host.getPeers().length ?? 0,
    );
    if (running) {
      const gossip = new Gossip(
        running,
        chain.rules.chainId,
        this.metrics.gossip,
        log.child({ component: 'p2p' }),
      );
      // Every consortium node can vote if the authorities vote it in; until then it follows as an observer.
      const signedLog = new FileSignedVoteLog(join(config.dataDir, 'signed-votes.jsonl'));
      this.#network = { running, gossip, signedLog };
      this.#consensus = new ConsortiumConsensus({
        chain,
        mempool: this.mempool,
        running,
        gossip,
        authority: { signer, signedLog },
        ...(config.timeouts ? { timeouts: timeoutsOf(config.timeouts) } : {}),
        blockIntervalMs: config.blockIntervalMs,
        emptyBlockIntervalMs: config.emptyBlockIntervalMs,
        now: Date.now,
        log: log.child({ component: 'consensus' }),
        evidence: this.metrics.equivocations,
        syncRejected: this.metrics.syncRejected,
        rounds: this.metrics.rounds,
        onEvidence: (first, second) => void this.#reportEquivocation(first, second, signer),
        onDropped: (hash, error) => this.#remember(hash, error),
      });
      gossip.on('tx', { validate: (input) => this.#judgeTransactionBatch(input), deliver: () => {} });
    } else {
      this.#network = undefined;
      this.#consensus = new SoloAuthority({
        chain,
        mempool: this.mempool,
        signer,
        blockIntervalMs: config.blockIntervalMs,
        emptyBlockIntervalMs: config.emptyBlockIntervalMs,
        now: Date.now,
        log: log.child({ component: 'consensus' }),
        onDropped: (hash, error) => this.#remember(hash, error),
      });
    }
    this.#authorities = chain.authorityRecordsAt(chain.head.height + 1);
    chain.onCommit(({ block, execution }) => {
      this.#authorities = chain.authorityRecordsAt(block.header.height + 1);
      this.#recentBlocks.set(block.header.height, {
        hash: blockHash(block.header),
        transactions: execution.included.map((t) => t.hash),
      });
      this.#recentBlocks.delete(block.header.height - RECENT_BLOCKS);
      this.#observeCommit(block.header.height, block.transactions.length);
      this.#countPaymentDecisions(block.header.height, execution.writes);
    });
    this.metrics.height.set(chain.head.height);
    this.metrics.finalizedHeight.set(chain.head.height);
    this.api = buildApi(this.#nodeApi(), log.child({ component: 'api' }));
  }

  static async start(config: NodeConfig, log: Logger): Promise<TillidNode> {
    const genesis = readGenesis(config.genesisFile);
    const signer = new Signer(readKeyFile(config.keyFile));
    const verified = new VerifiedSignatures();
    const chain = await Chain.open(config.dataDir, genesis, applicationModules(genesis), verified.valid);
    log.info(
      {
        chainId: genesis.chainId,
        genesisHash: chain.genesisHash,
        height: chain.head.height,
        publicKey: signer.publicKey,
      },
      'chain opened',
    );
    let running: RunningHost | undefined;
    if (config.p2p) {
      const { p2p } = config;
      const observers = new Set(p2p.observers);
      running = await createHost({
        keyPair: signer.keyPairForNetwork(),
        listen: p2p.listen,
        peers: p2p.peers,
        topics: TOPICS.map((name) => topicName(genesis.chainId, name)),
        // Consulted per connection, so an authority added by vote is admitted without a restart.
        allowed: (key) => observers.has(key) || chain.authoritiesAt(chain.head.height + 1).includes(key),
        log: log.child({ component: 'p2p' }),
      });
      log.info(
        { peerId: running.host.peerId.toString(), listen: running.host.getMultiaddrs().map(String) },
        'p2p listening',
      );
    }
    const node = new TillidNode(config, chain, signer, verified, log, running);
    try {
      await node.api.listen({ host: config.api.host, port: config.api.port });
    } catch (e) {
      await running?.stop();
      await chain.close();
      throw new Error(`cannot listen on ${config.api.host}:${config.api.port}: ${(e as Error).message}`);
    }
    await node.#consensus.start();
    node.#summary = setInterval(() => node.#logSummary(), SUMMARY_INTERVAL_MS).unref();
    log.info({ url: node.url }, 'node started');
    return node;
  }

  get url(): string {
    const address = this.api.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.api.port;
    return `http://${this.config.api.host}:${port}`;
  }

  /** Stops producing, finishes the block in flight, closes the API and the store. */
  async stop(): Promise<void> {
    clearInterval(this.#summary);
    this.#flushOutbox();
    await this.#consensus.stop();
    await this.api.close();
    await this.#network?.running.stop();
    this.#network?.signedLog?.close();
    await this.#verifierPool?.close();
    await this.chain.close();
    this.#log.info('node stopped');
  }

  #nodeApi(): NodeApi {
    const chain = this.chain;
    const clock = clockOf(chain.genesis);
    return {
      status: () => ({
        chainId: chain.genesis.chainId,
        genesisHash: chain.genesisHash,
        height: chain.head.height,
        finalizedHeight: chain.head.height,
        headHash: chain.head.hash,
        stateRoot: chain.head.stateRoot,
        authorities: this.#authorities.map((a) => ({
          name: a.name,
          cvr: a.cvr,
          publicKey: a.publicKey,
        })),
        peers: this.#network ? this.#network.running.host.getPeers().map(String) : [],
        mempool: { transactions: this.mempool.size, bytes: this.mempool.bytes },
        clock: { ...clock, businessDate: formatDate(businessDay(clock, chain.head)) },
        version: VERSION,
      }),
      submit: async (input) => {
        const hash = await this.#admit(input);
        // Every authority's mempool must hold it, whoever proposes next.
        this.#relay(input);
        return hash;
      },
      transaction: (hash) => this.#transactionView(hash),
      block: (height) => chain.block(height),
      blockReceipts: (height) => this.#blockReceipts(height),
      anchor: (hash) => chain.readState(anchorKey(hash)) as Record<string, unknown> | undefined,
      authoritySchedule: () => authoritySchedule({ get: (k) => chain.readState(k) }, chain.genesis),
      equivocations: () => equivocations({ get: (k) => chain.readState(k) }),
      membershipProposal: (id) => chain.readState(proposalKey(id)) as Record<string, unknown> | undefined,
      ready: () => this.#producing(),
      metrics: this.metrics.registry,
      contracts: {
        state: { get: (k) => chain.readState(k) },
        head: () => chain.head.height,
        businessDay: () => businessDay(clock, chain.head),
        prove: (spec) => proveRead(chain, spec),
      },
      proveRead: (spec) => proveRead(chain, spec),
    };
  }

  /**
   * Puts an equivocation on the chain: a transaction, signed by this authority, carrying both
   * conflicting statements (proposals without their blocks). Every node re-verifies it.
   */
  async #reportEquivocation(
    first: ConsensusMessage,
    second: ConsensusMessage,
    signer: Signer,
  ): Promise<void> {
    if (!this.chain.authoritiesAt(this.chain.head.height + 1).includes(signer.publicKey)) return;
    const statement = (m: ConsensusMessage) => {
      if (m.kind === 'vote') return { kind: 'vote', vote: m.vote };
      const { block, ...rest } = m.proposal;
      return { kind: 'proposal', proposal: { ...rest, blockHash: blockHash(block.header) } };
    };
    const tx = signTransactionWith(
      {
        chainId: this.chain.rules.chainId,
        type: 'evidence.equivocation',
        payload: { first: statement(first), second: statement(second) } as unknown as JsonObject,
        signer: signer.publicKey,
        nonce: randomUUID(),
        expiresAt: Date.now() + 10 * 60_000,
      },
      signer,
    );
    try {
      await this.#admit(tx);
      this.#relay(tx);
      this.#log.warn(
        { authority: senderOf(first), txHash: transactionHash(tx) },
        'reported equivocation evidence',
      );
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'could not report equivocation evidence');
    }
  }

  /**
   * Queues an admitted transaction for gossip. Transactions leave in batches, at most every
   * TX_GOSSIP_DELAY_MS: one gossip message per transaction cost each node more in libp2p framing,
   * encryption and socket writes than in verifying the transaction (profiled with bench:network).
   */
  #relay(tx: unknown): void {
    if (!this.#network) return;
    this.#outbox.push(tx);
    if (this.#outbox.length >= TX_GOSSIP_BATCH) this.#flushOutbox();
    else this.#outboxTimer ??= setTimeout(() => this.#flushOutbox(), TX_GOSSIP_DELAY_MS);
  }

  #flushOutbox(): void {
    clearTimeout(this.#outboxTimer);
    this.#outboxTimer = undefined;
    if (this.#outbox.length === 0) return;
    const transactions = this.#outbox;
    this.#outbox = [];
    void this.#network?.gossip.publish('tx', { transactions });
  }

  /**
   * Gossip validation of a batch of transactions: each is admitted as if submitted here. A batch
   * is rejected (and counts against its sender) only when it holds a transaction that no honest
   * node would have admitted — malformed, badly signed, carrying personal data. Duplicates, a full
   * mempool and expiry (clocks differ) are nobody's fault and are ignored.
   */
  async #judgeTransactionBatch(input: unknown): Promise<Judgement<null>> {
    const transactions = (input as { transactions?: unknown })?.transactions;
    if (!Array.isArray(transactions) || transactions.length === 0 || transactions.length > TX_GOSSIP_BATCH) {
      return { verdict: 'reject', reason: 'not a transaction batch' };
    }
    // Admitted together, so their signatures are verified in batches on the verifier threads.
    const outcomes = await Promise.all(
      transactions.map((tx) =>
        this.#admit(tx).then(
          () => 'ADMITTED',
          (e) => (isTillidError(e) ? e.code : 'TX_MALFORMED'),
        ),
      ),
    );
    const blamed = outcomes.find((code) => code !== 'ADMITTED' && !BLAMELESS.has(code));
    if (blamed) return { verdict: 'reject', reason: blamed };
    return outcomes.includes('ADMITTED')
      ? { verdict: 'accept', value: null }
      : { verdict: 'ignore', reason: 'nothing new' };
  }

  /** Admission for a transaction from a client or a peer, counted by outcome. */
  async #admit(input: unknown): Promise<Hex> {
    try {
      const hash = await admitTransaction(input, {
        rules: this.chain.rules,
        mempool: this.mempool,
        receipt: (h) => this.chain.receipt(h),
        now: Date.now,
        verify: (tx, h) => this.#verify(tx, h),
      });
      this.metrics.admissions.inc({ outcome: 'ACCEPTED' });
      this.#consensus.transactionsArrived();
      return hash;
    } catch (e) {
      if (isTillidError(e)) this.metrics.admissions.inc({ outcome: e.code });
      throw e;
    }
  }

  /** The signature rule on a worker when there are workers; each verdict is remembered. */
  async #verify(tx: Transaction, hash: Hex): Promise<boolean> {
    if (!this.#verifierPool) return this.#verified.valid(tx, hash);
    const valid = await this.#verifierPool.verify(tx, hash);
    if (valid) this.#verified.remember(hash, tx.signature);
    return valid;
  }

  /** Each transaction's receipt in the finalized block at `height`, read from state, in block order. */
  async #blockReceipts(height: number): Promise<BlockReceipts | undefined> {
    let recent = this.#recentBlocks.get(height);
    if (!recent) {
      const block = await this.chain.block(height);
      if (!block) return undefined;
      recent = { hash: blockHash(block.header), transactions: block.transactions.map(transactionHash) };
    }
    const receipts = recent.transactions.map((hash, index) => {
      const receipt = this.chain.receipt(hash);
      // The block and its state writes are committed in one batch: a missing receipt is a bug.
      if (receipt?.height !== height || receipt.index !== index)
        throw new Error(`no receipt at ${height}/${index} for transaction ${hash}`);
      return receipt.message === undefined
        ? { hash, index, code: receipt.code }
        : { hash, index, code: receipt.code, message: receipt.message };
    });
    return { height, hash: recent.hash, receipts };
  }

  #transactionView(hash: Hex): TransactionView | undefined {
    // The receipt first: a committed transaction may still sit in the mempool for a moment.
    const receipt = this.chain.receipt(hash);
    if (receipt) {
      return receipt.code === 'OK'
        ? { hash, status: 'finalized', height: receipt.height, index: receipt.index }
        : {
            hash,
            status: 'rejected',
            height: receipt.height,
            index: receipt.index,
            code: receipt.code,
            message: receipt.message,
          };
    }
    if (this.mempool.has(hash)) return { hash, status: 'pending' };
    const rejected = this.#rejected.get(hash);
    if (rejected) return { hash, status: 'rejected', ...rejected };
    return undefined;
  }

  /**
   * Ready means blocks are being finalized: a node whose store has failed (disk full, say) keeps
   * answering reads but drops out of a load balancer's rotation.
   */
  #producing(): boolean {
    const last = this.#lastBlockAt ?? this.#startedAt;
    const { blockIntervalMs, emptyBlockIntervalMs } = this.config;
    return performance.now() - last < Math.max(5 * blockIntervalMs, 2 * emptyBlockIntervalMs, 5000);
  }

  /** One line a minute that says the node is alive and what it did, for whoever reads logs at 3 a.m. */
  #logSummary(): void {
    this.#log.info(
      {
        height: this.chain.head.height,
        finalizedLastMinute: this.#finalizedSinceSummary,
        mempool: this.mempool.size,
        producing: this.#producing(),
      },
      'summary',
    );
    this.#finalizedSinceSummary = 0;
  }

  #remember(hash: Hex, error: TillidError): void {
    if (this.#rejected.size >= REJECTION_MEMORY)
      this.#rejected.delete(this.#rejected.keys().next().value as Hex);
    this.#rejected.set(hash, { code: error.code, message: error.message });
  }

  /** Payment decisions by kind and reason, for the dashboards (withheld payments above all). */
  #countPaymentDecisions(height: number, writes: ReadonlyMap<string, Json>): void {
    const count = (writes.get(eventsKey(height)) as number | undefined) ?? 0;
    for (let i = 0; i < count; i++) {
      const event = writes.get(`${eventsKey(height)}/${i}`) as ChainEvent | undefined;
      if (event?.type === 'payment.released' || event?.type === 'payment.withheld') {
        const kind = event.type === 'payment.released' ? 'release' : 'withhold';
        this.metrics.paymentDecisions.inc({ kind, reason: String(event.reason) });
      }
    }
  }

  #observeCommit(height: number, transactions: number): void {
    const now = performance.now();
    if (this.#lastBlockAt !== undefined) this.metrics.blockInterval.observe((now - this.#lastBlockAt) / 1000);
    this.#lastBlockAt = now;
    this.metrics.height.set(height);
    this.metrics.finalizedHeight.set(height);
    this.metrics.transactionsFinalized.inc(transactions);
    this.#finalizedSinceSummary += transactions;
    this.metrics.blockTransactions.observe(transactions);
    this.#log.debug({ height, transactions }, 'block finalized');
  }
}

function timeoutsOf(t: NonNullable<NodeConfig['timeouts']>): Timeouts {
  return {
    propose: { baseMs: t.proposeMs, perRoundMs: t.perRoundMs },
    prevote: { baseMs: t.prevoteMs, perRoundMs: t.perRoundMs },
    precommit: { baseMs: t.precommitMs, perRoundMs: t.perRoundMs },
  };
}

export function readGenesis(file: string): Genesis {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read genesis ${file}: ${(e as Error).message}`);
  }
  return decodeGenesis(raw);
}
