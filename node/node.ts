/**
 * One Tillid node, assembled: this file only builds the parts and connects them. Each part lives
 * in the folder of its responsibility and takes the few components it needs (as js-libp2p's
 * components do); `NodeComponents` (components.ts) lists them all, and one `Lifecycle`
 * (lifecycle.ts) starts them in order and stops them in reverse. What the parts are built on —
 * genesis, key, chain store, p2p host — is opened first (open.ts). See node/README.md, "How the
 * parts connect".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ChainActivity } from './api/activity.ts';
import { NodeMetrics } from './api/metrics.ts';
import { nodeApi } from './api/node-api.ts';
import { buildApi, listeningApi } from './api/server.ts';
import type { Chain } from './chain/chain.ts';
import { OpenProposalIndex } from './chain/proposals.ts';
import { proveRead } from './chain/prove.ts';
import { BlockReceiptIndex } from './chain/receipts.ts';
import type { NodeComponents } from './components.ts';
import { engineTimeouts, type NodeConfig } from './config.ts';
import type { Consensus } from './consensus/consensus.ts';
import { ConsortiumConsensus } from './consensus/consortium.ts';
import { evidenceReporter } from './consensus/evidence-report.ts';
import { SoloAuthority } from './consensus/solo.ts';
import { FileSignedVoteLog, SIGNED_VOTE_LOG } from './consensus/tendermint/file-signed-log.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { TransactionIntake } from './mempool/intake.ts';
import { Mempool } from './mempool/mempool.ts';
import { RejectionMemory } from './mempool/rejections.ts';
import { VerifierPool } from './mempool/verifier-pool.ts';
import { type Opened, openNode } from './open.ts';
import { Gossip } from './p2p/gossip.ts';
import { TxGossip } from './p2p/tx-gossip.ts';
import type { Hex } from './protocol/hash.ts';
import { PROTOCOL_VERSION, SOFTWARE_VERSION } from './protocol/version.ts';
import { stateQueries } from './state/queries.ts';

/** The software release (protocol/version.ts has the protocol version). */
export const VERSION = SOFTWARE_VERSION;
export { readGenesis } from './genesis-file.ts';

export class TillidNode {
  readonly config: NodeConfig;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly api: FastifyInstance;
  readonly #log: Logger;
  readonly #lifecycle: Lifecycle;

  private constructor(c: NodeComponents) {
    ({ config: this.config, chain: this.chain, mempool: this.mempool, metrics: this.metrics } = c);
    this.api = c.api;
    this.#log = c.log;
    const { network } = c;
    this.#lifecycle = new Lifecycle([
      // Stopped last: an HSM session stays open until consensus and the p2p host have stopped signing.
      { stop: async () => c.signer.close?.() },
      { stop: () => c.chain.close() },
      { stop: async () => void (await c.verifierPool?.close()) },
      { stop: () => network?.signedLog.close() },
      { stop: () => network?.running.stop() },
      listeningApi(c.api, c.config.api),
      c.consensus,
      c.activity,
      ...(network ? [network.txGossip] : []),
    ]);
  }

  static async start(config: NodeConfig, log: Logger): Promise<TillidNode> {
    const node = new TillidNode(assemble(await openNode(config, log)));
    await node.#lifecycle.start();
    log.info({ url: node.url }, 'node started');
    return node;
  }

  get url(): string {
    const address = this.api.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.api.port;
    return `${this.config.api.tls ? 'https' : 'http'}://${this.config.api.host}:${port}`;
  }

  /** Flushes gossip, stops producing (finishing the block in flight), closes the API, peers, store. */
  async stop(): Promise<void> {
    await this.#lifecycle.stop();
    this.#log.info('node stopped');
  }
}

/** Builds every part; each constructor picks from the components object what it declares. */
function assemble(opened: Opened): NodeComponents {
  const { config, log, chain, running } = opened;
  const peers = () => (running ? running.host.getPeers().map(String) : []);
  // The mempool's size is read only at scrape time, so the metrics may be built before it.
  const metrics: NodeMetrics = new NodeMetrics(
    () => mempool.size,
    () => peers().length,
    {
      authorities: () => chain.authorityRecordsAt(chain.head.height + 1).length,
      mempoolCapacity: config.mempool.maxTransactions,
      dataDir: config.dataDir,
      ...(running && { gossipPeers: () => running.gossipPeers() }),
    },
  );
  const stages = metrics.txStages;
  const mempool = new Mempool(config.mempool, { stages });
  const verifierPool = config.verifyWorkers > 0 ? new VerifierPool(config.verifyWorkers) : undefined;
  const rejections = new RejectionMemory();
  // Consensus is built below; admission calls it only once the node runs.
  const transactionsArrived = (hash: Hex) => consensus.transactionsArrived(hash);
  const base = {
    ...opened,
    mempool,
    metrics,
    verifierPool,
    rejections,
    peers,
    now: Date.now,
    version: VERSION,
    protocolVersion: PROTOCOL_VERSION,
    peerAgents: () => (running ? running.peerAgents() : {}),
  };
  const intake = new TransactionIntake({ ...base, transactionsArrived, stages });
  const gossip =
    running &&
    new Gossip(
      running,
      chain.rules.chainId,
      metrics.gossip,
      log.child({ component: 'p2p' }),
      metrics.gossipTraffic,
    );
  // gossipsub's wire counters live in the host's registry (it exists before these metrics do).
  if (running) for (const m of running.metrics) metrics.registry.registerMetric(m);
  const txGossip =
    gossip &&
    new TxGossip({
      gossip,
      admit: (tx, arrivedAt) => intake.admit(tx, 'peer', arrivedAt),
      backlog: () => intake.backlog,
      stages,
    });
  const submit = async (input: unknown) => {
    const hash = await intake.admit(input);
    txGossip?.relay(input);
    return hash;
  };
  const c = { ...base, intake, submit };
  const forConsensus = {
    chain,
    mempool,
    blockIntervalMs: config.blockIntervalMs,
    emptyBlockIntervalMs: config.emptyBlockIntervalMs,
    now: Date.now,
    log: log.child({ component: 'consensus' }),
    onDropped: rejections.remember.bind(rejections),
  };
  let network: NodeComponents['network'];
  let consensus: Consensus;
  if (running && gossip && txGossip) {
    // Every consortium node can vote if the authorities vote it in; until then it follows as an observer.
    // Durable when record returns: one O_DSYNC write on the main thread (file-signed-log.ts).
    const signedLog = new FileSignedVoteLog(join(config.dataDir, SIGNED_VOTE_LOG));
    if (signedLog.lost)
      log.warn(
        { file: join(config.dataDir, SIGNED_VOTE_LOG) },
        'signed-vote log missing: taken as lost; this authority signs again only once the other authorities ' +
          'have told it their heads and finalized past them (README, consensus). A key that never signed gets an ' +
          'empty log from network init / join / keys generate --data-dir',
      );
    network = { running, txGossip, signedLog };
    const report = evidenceReporter(c);
    consensus = new ConsortiumConsensus({
      ...forConsensus,
      running,
      gossip,
      authority: { signer: c.signer, signedLog },
      ...(config.timeouts ? { timeouts: engineTimeouts(config.timeouts) } : {}),
      evidence: metrics.equivocations,
      syncRejected: metrics.syncRejected,
      rounds: metrics.rounds,
      verifyFetched: (tx, hash) => intake.signatureValid(tx, hash),
      assembly: { proposals: metrics.proposalAssembly, transactions: metrics.fetchedTransactions, stages },
      resent: metrics.consensusResent,
      syncTraffic: metrics.sync,
      onEvidence: (first, second) => void report(first, second),
    });
  } else consensus = new SoloAuthority({ ...forConsensus, signer: c.signer });
  const activity = new ChainActivity(c);
  const queries = stateQueries({ get: (k) => chain.readState(k) }, chain.genesis, () => chain.head);
  const receipts = new BlockReceiptIndex(c);
  const proposals = new OpenProposalIndex(c);
  const api = buildApi(
    nodeApi({
      ...c,
      activity,
      queries,
      receipts,
      proposals,
      proveRead: (spec) => proveRead(chain, spec),
      pacing: { blockIntervalMs: config.blockIntervalMs, emptyBlockIntervalMs: config.emptyBlockIntervalMs },
    }),
    log.child({ component: 'api' }),
    config.api.tls ? readApiTls(config.api.tls) : undefined,
  );
  return { ...c, network, consensus, activity, api };
}

/** The API's certificate and key, read once at start; a missing file stops the node saying which. */
function readApiTls(files: NonNullable<NodeConfig['api']['tls']>): { cert: string; key: string } {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read api.tls.${what} ${file}: ${(e as Error).message}`);
    }
  };
  return { cert: read('cert', files.cert), key: read('key', files.key) };
}
