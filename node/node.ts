/**
 * One Tillid node, assembled: store and chain, mempool and admission, block production, API.
 * This is the file to read to see how the parts connect; each part lives in its own folder.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { NodeMetrics } from './api/metrics.ts';
import { buildApi, type NodeApi, type TransactionView } from './api/server.ts';
import { Chain } from './chain/chain.ts';
import type { NodeConfig } from './config.ts';
import { SoloAuthority } from './consensus/solo.ts';
import { readKeyFile } from './keyfile.ts';
import type { Logger } from './log.ts';
import { admitTransaction } from './mempool/admission.ts';
import { Mempool } from './mempool/mempool.ts';
import { VerifierPool } from './mempool/verifier-pool.ts';
import { isTillidError, type TillidError } from './protocol/errors.ts';
import { decodeGenesis, type Genesis } from './protocol/genesis.ts';
import type { Hex } from './protocol/hash.ts';
import { Signer } from './protocol/signature.ts';
import type { Transaction } from './protocol/transaction.ts';
import { VerifiedSignatures } from './protocol/verdicts.ts';
import { registry } from './state/module.ts';
import { anchorKey, anchorModule } from './state/modules/anchor.ts';

export const VERSION = '0.1.0';

const SUMMARY_INTERVAL_MS = 60_000;

/** Rejections of transactions that never made it into a block, kept for status queries. */
const REJECTION_MEMORY = 100_000;

export class TillidNode {
  readonly config: NodeConfig;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly api: FastifyInstance;
  readonly #authority: SoloAuthority;
  readonly #log: Logger;
  readonly #rejected = new Map<Hex, { code: string; message: string }>();
  #lastBlockAt: number | undefined;
  #startedAt = performance.now();
  #summary: NodeJS.Timeout | undefined;
  #finalizedSinceSummary = 0;

  readonly #verified: VerifiedSignatures;
  readonly #verifierPool: VerifierPool | undefined;

  private constructor(
    config: NodeConfig,
    chain: Chain,
    signer: Signer,
    verified: VerifiedSignatures,
    log: Logger,
  ) {
    this.config = config;
    this.chain = chain;
    this.#verified = verified;
    this.#verifierPool = config.verifyWorkers > 0 ? new VerifierPool(config.verifyWorkers) : undefined;
    this.#log = log;
    this.mempool = new Mempool(config.mempool);
    this.metrics = new NodeMetrics(() => this.mempool.size);
    this.#authority = new SoloAuthority({
      chain,
      mempool: this.mempool,
      signer,
      blockIntervalMs: config.blockIntervalMs,
      now: Date.now,
      log: log.child({ component: 'consensus' }),
      onDropped: (hash, error) => this.#remember(hash, error),
    });
    chain.onCommit(({ block }) => this.#observeCommit(block.header.height, block.transactions.length));
    this.metrics.height.set(chain.head.height);
    this.metrics.finalizedHeight.set(chain.head.height);
    this.api = buildApi(this.#nodeApi(), log.child({ component: 'api' }));
  }

  static async start(config: NodeConfig, log: Logger): Promise<TillidNode> {
    const genesis = readGenesis(config.genesisFile);
    const signer = new Signer(readKeyFile(config.keyFile));
    const verified = new VerifiedSignatures();
    const chain = await Chain.open(config.dataDir, genesis, registry([anchorModule]), verified.valid);
    log.info(
      {
        chainId: genesis.chainId,
        genesisHash: chain.genesisHash,
        height: chain.head.height,
        publicKey: signer.publicKey,
      },
      'chain opened',
    );
    const node = new TillidNode(config, chain, signer, verified, log);
    try {
      await node.api.listen({ host: config.api.host, port: config.api.port });
    } catch (e) {
      await chain.close();
      throw new Error(`cannot listen on ${config.api.host}:${config.api.port}: ${(e as Error).message}`);
    }
    node.#authority.start();
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
    await this.#authority.stop();
    await this.api.close();
    await this.#verifierPool?.close();
    await this.chain.close();
    this.#log.info('node stopped');
  }

  #nodeApi(): NodeApi {
    const chain = this.chain;
    return {
      status: () => ({
        chainId: chain.genesis.chainId,
        genesisHash: chain.genesisHash,
        height: chain.head.height,
        finalizedHeight: chain.head.height,
        headHash: chain.head.hash,
        stateRoot: chain.head.stateRoot,
        authorities: chain.genesis.authorities.map((a) => ({
          name: a.name,
          cvr: a.cvr,
          publicKey: a.publicKey,
        })),
        peers: [],
        mempool: { transactions: this.mempool.size, bytes: this.mempool.bytes },
        version: VERSION,
      }),
      submit: async (input) => {
        try {
          const hash = await admitTransaction(input, {
            rules: chain.rules,
            mempool: this.mempool,
            receipt: (h) => chain.receipt(h),
            now: Date.now,
            verify: (tx, h) => this.#verify(tx, h),
          });
          this.metrics.admissions.inc({ outcome: 'ACCEPTED' });
          this.#authority.transactionsArrived();
          return hash;
        } catch (e) {
          if (isTillidError(e)) this.metrics.admissions.inc({ outcome: e.code });
          throw e;
        }
      },
      transaction: (hash) => this.#transactionView(hash),
      block: (height) => chain.block(height),
      anchor: (hash) => chain.readState(anchorKey(hash)) as Record<string, unknown> | undefined,
      ready: () => this.#producing(),
      metrics: this.metrics.registry,
    };
  }

  /** The signature rule on a worker when there are workers; each verdict is remembered. */
  async #verify(tx: Transaction, hash: Hex): Promise<boolean> {
    if (!this.#verifierPool) return this.#verified.valid(tx, hash);
    const valid = await this.#verifierPool.verify(tx, hash);
    if (valid) this.#verified.remember(hash, tx.signature);
    return valid;
  }

  #transactionView(hash: Hex): TransactionView | undefined {
    if (this.mempool.has(hash)) return { hash, status: 'pending' };
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
    return performance.now() - last < Math.max(5 * this.config.blockIntervalMs, 5000);
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

export function readGenesis(file: string): Genesis {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read genesis ${file}: ${(e as Error).message}`);
  }
  return decodeGenesis(raw);
}
