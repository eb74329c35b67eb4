/**
 * Prometheus metrics for one node. Each node owns a Registry (not prom-client's global one) so
 * several nodes can run in one process, as the simulator and tests do.
 */
import { statfsSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { RoundMetrics } from '../consensus/metrics.ts';
import { TX_STAGES, type TxStage, type TxStageObserver } from '../mempool/stages.ts';
import type { ChainEvent } from '../state/events.ts';

/** What the alert rules (deploy/monitoring/alerts.yml) compare the live gauges against. */
export interface NodeMetricsContext {
  /** Authorities at the next height: a quorum needs floor(2n/3) peers besides this node. */
  readonly authorities?: () => number;
  /** The mempool's transaction limit (config mempool.maxTransactions). */
  readonly mempoolCapacity?: number;
  /** The node's data directory, whose file system's free space is reported. */
  readonly dataDir?: string;
  /** Peers gossipsub exchanges messages with; below tillid_peers while gossip has lost a peer. */
  readonly gossipPeers?: () => number;
}

/** A gauge in `registry`, with `labelNames` if given. */
export function gauge<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames?: readonly L[],
): Gauge<L> {
  return new Gauge({ name, help, ...(labelNames && { labelNames }), registers: [registry] });
}

/** A counter in `registry`, with `labelNames` if given. */
export function counter<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames?: readonly L[],
): Counter<L> {
  return new Counter({ name, help, ...(labelNames && { labelNames }), registers: [registry] });
}

/** A gauge in `registry` whose value is read at scrape time; `read` returning undefined leaves it unset. */
function scrapedGauge(registry: Registry, name: string, help: string, read: () => number | undefined): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly height = this.gauge('tillid_chain_height', 'Height of the head block');
  readonly finalizedHeight = this.gauge('tillid_finalized_height', 'Height of the newest finalized block');
  readonly transactionsFinalized = this.counter(
    'tillid_transactions_finalized_total',
    'Transactions in finalized blocks (rate() of this is tx/s)',
  );
  readonly blockInterval = new Histogram({
    name: 'tillid_block_interval_seconds',
    help: 'Time between consecutive finalized blocks',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly blockTransactions = new Histogram({
    name: 'tillid_block_transactions',
    help: 'Transactions per finalized block',
    buckets: [0, 1, 10, 100, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });
  readonly txStageSeconds = new Histogram({
    name: 'tillid_tx_stage_seconds',
    help: "Where a transaction's time goes on this node, by stage: admit (a client's submission into the mempool), gossip_send (mempool to gossip batch sent), gossip_admit (a peer's batch into the mempool), to_proposal (mempool to first named in a proposal made or validated here), assembly (per proposal: received to whole for the engine), to_commit (proposal to committed here)",
    labelNames: ['stage'] as const,
    buckets: [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
    ],
    registers: [this.registry],
  });
  /** The stage histogram as the mempool, intake, gossip and assembly report into it (labels resolved once). */
  readonly txStages: TxStageObserver = (() => {
    const children = new Map(TX_STAGES.map((stage) => [stage, this.txStageSeconds.labels(stage)]));
    return { observe: (stage: TxStage, seconds: number) => children.get(stage)?.observe(seconds) };
  })();
  readonly admissions = this.counter(
    'tillid_transactions_submitted_total',
    'Submitted transactions by outcome (ACCEPTED or the error code)',
    ['outcome'],
  );
  readonly gossip = this.counter(
    'tillid_gossip_messages_total',
    'Gossip messages received, by topic and validation outcome (accept, ignore, reject)',
    ['topic', 'outcome'] as const,
  );
  readonly proposalAssembly = this.counter(
    'tillid_proposals_assembled_total',
    'Proposals (which name their transactions by hash) made whole: local (every transaction pending here), gossip (the missing ones arrived by gossip within 200 ms), fetched (some fetched from peers), failed (given up: the engine prevotes nil)',
    ['outcome'] as const,
  );
  readonly fetchedTransactions = this.counter(
    'tillid_fetched_transactions_total',
    "Transactions peers sent in answer to this node's fetches for a proposal, by outcome (valid, unasked, malformed, bad-signature); all but valid are ignored",
    ['outcome'] as const,
  );
  readonly gossipTraffic = {
    receivedBytes: this.counter(
      'tillid_gossip_received_bytes_total',
      'Bytes of gossip messages received and validated, by topic (first copies; duplicates are tillid_gossipsub_pre_validation_duplicate_total)',
      ['topic'] as const,
    ),
    published: this.counter(
      'tillid_gossip_published_total',
      'Gossip messages this node published, by topic (once each, however many peers get them)',
      ['topic'] as const,
    ),
    publishedBytes: this.counter(
      'tillid_gossip_published_bytes_total',
      'Bytes of the gossip messages this node published, by topic',
      ['topic'] as const,
    ),
  };
  readonly consensusResent = this.counter(
    'tillid_consensus_resent_total',
    'Its own proposals and votes this node re-sent because a height made no progress (stall), by kind',
    ['kind'] as const,
  );
  readonly sync = {
    requests: this.counter(
      'tillid_sync_requests_total',
      'Block-sync requests, by side: served (a peer asked this node) or fetched (this node asked)',
      ['side'] as const,
    ),
    blocks: this.counter(
      'tillid_sync_blocks_total',
      'Blocks sent (served) or received (fetched) by block sync',
      ['side'] as const,
    ),
    bytes: this.counter(
      'tillid_sync_bytes_total',
      'Bytes of blocks sent (served) or received (fetched) by block sync',
      ['side'] as const,
    ),
  };
  readonly equivocations = this.counter(
    'tillid_equivocations_total',
    'Conflicting signed messages seen from one authority for one height, round and type',
    ['kind'] as const,
  );
  readonly syncRejected = this.counter(
    'tillid_sync_blocks_rejected_total',
    'Blocks served by a peer during block sync that failed validation (the peer is then disconnected)',
  );
  readonly paymentDecisions = this.counter(
    'tillid_payment_decisions_total',
    'Payment decisions the chain made (kind: release or withhold; reason: scheduled, report-missing, …)',
    ['kind', 'reason'] as const,
  );
  /** Rounds per height, round changes, missed proposals, seconds since the last finalized block. */
  readonly rounds = new RoundMetrics(this.registry);
  /** `mempoolSize` and `peerCount` are read at scrape time, so the gauges are never stale. */
  constructor(
    mempoolSize: () => number,
    peerCount: () => number = () => 0,
    context: NodeMetricsContext = {},
  ) {
    scrapedGauge(
      this.registry,
      'tillid_mempool_transactions',
      'Transactions waiting for a block',
      mempoolSize,
    );
    scrapedGauge(
      this.registry,
      'tillid_peers',
      'Connected, allow-listed libp2p peers (authorities and observers)',
      peerCount,
    );
    const { authorities, mempoolCapacity, dataDir, gossipPeers } = context;
    if (gossipPeers)
      scrapedGauge(
        this.registry,
        'tillid_gossip_peers',
        'Connected peers gossipsub exchanges messages with (below tillid_peers while one is being reconnected)',
        gossipPeers,
      );
    if (authorities)
      scrapedGauge(
        this.registry,
        'tillid_authorities',
        'Authorities of the chain at the next height (a quorum is floor(2n/3)+1 of them)',
        authorities,
      );
    if (mempoolCapacity !== undefined)
      this.gauge(
        'tillid_mempool_capacity',
        'Transactions the mempool holds before it refuses submissions with MEMPOOL_FULL',
      ).set(mempoolCapacity);
    if (dataDir !== undefined) {
      // Read at scrape time; a failing statfs (directory gone) leaves the gauges unset rather than
      // failing the whole scrape.
      const disk = () => {
        try {
          return statfsSync(dataDir);
        } catch {
          return undefined;
        }
      };
      scrapedGauge(
        this.registry,
        'tillid_disk_free_bytes',
        "Bytes available to the node on its data directory's file system",
        () => {
          const s = disk();
          return s && s.bavail * s.bsize;
        },
      );
      scrapedGauge(
        this.registry,
        'tillid_disk_size_bytes',
        "Size of the node's data directory's file system",
        () => {
          const s = disk();
          return s && s.blocks * s.bsize;
        },
      );
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'tillid_' });
  }

  private gauge(name: string, help: string): Gauge {
    return gauge(this.registry, name, help);
  }

  private counter<L extends string = string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
  ): Counter<L> {
    return counter(this.registry, name, help, labelNames);
  }

  /** Payment decisions by kind and reason, from a finalized block's events (withheld ones above all). */
  countPaymentDecisions(events: readonly ChainEvent[]): void {
    for (const event of events) {
      if (event.type === 'payment.released' || event.type === 'payment.withheld') {
        const kind = event.type === 'payment.released' ? 'release' : 'withhold';
        this.paymentDecisions.inc({ kind, reason: String(event.reason) });
      }
    }
  }
}
