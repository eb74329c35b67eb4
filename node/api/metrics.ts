/**
 * Prometheus metrics for one node. Each node owns a Registry (not prom-client's global one) so
 * several nodes can run in one process, as the simulator and tests do.
 */
import { statfsSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { RoundMetrics } from '../consensus/metrics.ts';
import type { ChainEvent } from '../state/events.ts';

/** What the alert rules (deploy/monitoring/alerts.yml) compare the live gauges against. */
export interface NodeMetricsContext {
  /** Authorities at the next height: a quorum needs floor(2n/3) peers besides this node. */
  readonly authorities?: () => number;
  /** The mempool's transaction limit (config mempool.maxTransactions). */
  readonly mempoolCapacity?: number;
  /** The node's data directory, whose file system's free space is reported. */
  readonly dataDir?: string;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly height = new Gauge({
    name: 'tillid_chain_height',
    help: 'Height of the head block',
    registers: [this.registry],
  });
  readonly finalizedHeight = new Gauge({
    name: 'tillid_finalized_height',
    help: 'Height of the newest finalized block',
    registers: [this.registry],
  });
  readonly transactionsFinalized = new Counter({
    name: 'tillid_transactions_finalized_total',
    help: 'Transactions in finalized blocks (rate() of this is tx/s)',
    registers: [this.registry],
  });
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
  readonly admissions = new Counter({
    name: 'tillid_transactions_submitted_total',
    help: 'Submitted transactions by outcome (ACCEPTED or the error code)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly gossip = new Counter({
    name: 'tillid_gossip_messages_total',
    help: 'Gossip messages received, by topic and validation outcome (accept, ignore, reject)',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly equivocations = new Counter({
    name: 'tillid_equivocations_total',
    help: 'Conflicting signed messages seen from one authority for one height, round and type',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly syncRejected = new Counter({
    name: 'tillid_sync_blocks_rejected_total',
    help: 'Blocks served by a peer during block sync that failed validation (the peer is then disconnected)',
    registers: [this.registry],
  });
  readonly paymentDecisions = new Counter({
    name: 'tillid_payment_decisions_total',
    help: 'Payment decisions the chain made (kind: release or withhold; reason: scheduled, report-missing, …)',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });
  /** Rounds per height, round changes, missed proposals, seconds since the last finalized block. */
  readonly rounds = new RoundMetrics(this.registry);
  /** `mempoolSize` and `peerCount` are read at scrape time, so the gauges are never stale. */
  constructor(
    mempoolSize: () => number,
    peerCount: () => number = () => 0,
    context: NodeMetricsContext = {},
  ) {
    new Gauge({
      name: 'tillid_mempool_transactions',
      help: 'Transactions waiting for a block',
      registers: [this.registry],
      collect() {
        this.set(mempoolSize());
      },
    });
    new Gauge({
      name: 'tillid_peers',
      help: 'Connected, allow-listed libp2p peers (authorities and observers)',
      registers: [this.registry],
      collect() {
        this.set(peerCount());
      },
    });
    const { authorities, mempoolCapacity, dataDir } = context;
    if (authorities)
      new Gauge({
        name: 'tillid_authorities',
        help: 'Authorities of the chain at the next height (a quorum is floor(2n/3)+1 of them)',
        registers: [this.registry],
        collect() {
          this.set(authorities());
        },
      });
    if (mempoolCapacity !== undefined)
      new Gauge({
        name: 'tillid_mempool_capacity',
        help: 'Transactions the mempool holds before it refuses submissions with MEMPOOL_FULL',
        registers: [this.registry],
      }).set(mempoolCapacity);
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
      new Gauge({
        name: 'tillid_disk_free_bytes',
        help: "Bytes available to the node on its data directory's file system",
        registers: [this.registry],
        collect() {
          const s = disk();
          if (s) this.set(s.bavail * s.bsize);
        },
      });
      new Gauge({
        name: 'tillid_disk_size_bytes',
        help: "Size of the node's data directory's file system",
        registers: [this.registry],
        collect() {
          const s = disk();
          if (s) this.set(s.blocks * s.bsize);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'tillid_' });
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
