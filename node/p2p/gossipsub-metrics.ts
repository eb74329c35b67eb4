/**
 * gossipsub's own counters in the node's /metrics: what crosses the wire (RPC bytes and messages
 * in and out, control messages IHAVE / IWANT / GRAFT / PRUNE / IDONTWANT, duplicate deliveries
 * and forwards per topic), so an operator sees where a node's bandwidth goes, and bench:wan can
 * break a node's bytes per block down by cause.
 *
 * gossipsub asks a MetricsRegister for about a hundred series (Lodestar's dashboards); only the
 * ones below are kept, under a `tillid_` prefix — the rest (score internals, histograms) would
 * cost a scrape more than they tell. Every kept series is a counter that only grows, although
 * gossipsub calls it a gauge. Topic labels are the short topic names (tx, proposal, vote, status).
 */
import type { MetricsRegister } from '@libp2p/gossipsub/metrics';
import { Gauge } from 'prom-client';

/** The gossipsub series kept, by gossipsub's name. */
const KEPT = new Set([
  'gossipsub_rpc_recv_bytes_total',
  'gossipsub_rpc_recv_message_total',
  'gossipsub_rpc_recv_ihave_total',
  'gossipsub_rpc_recv_iwant_total',
  'gossipsub_rpc_recv_graft_total',
  'gossipsub_rpc_recv_prune_total',
  'gossipsub_rpc_sent_bytes_total',
  'gossipsub_rpc_sent_message_total',
  'gossipsub_rpc_sent_ihave_total',
  'gossipsub_rpc_sent_iwant_total',
  'gossipsub_rpc_sent_graft_total',
  'gossipsub_rpc_sent_prune_total',
  'gossipsub_rpc_sent_idontwant_total',
  'gossipsub_msg_received_prevalidation_total',
  'gossipsub_pre_validation_duplicate_total',
  'gossipsub_msg_publish_count_total',
  'gossipsub_msg_publish_peers_total',
  'gossipsub_msg_forward_count_total',
  'gossipsub_msg_forward_peers_total',
  'gossipsub_iwant_rcv_msgids_total',
  'gossipsub_ihave_rcv_msgids_total',
  'gossipsub_idontwant_rcv_msgids_total',
  'gossipsub_idontwant_skipped_sends_total',
]);

const ignore = () => {};
const NO_GAUGE = { inc: ignore, set: ignore, addCollect: ignore };
const NO_HISTOGRAM = { startTimer: () => ignore, observe: ignore, reset: ignore };

export interface GossipsubMetrics {
  /** What gossipsub is given as `metricsRegister`. */
  readonly register: MetricsRegister;
  /** What gossipsub is given as `metricsTopicStrToLabel`: full topic → short name. */
  readonly topicLabels: Map<string, string>;
  /** The kept series, to be registered in the node's registry. */
  readonly kept: readonly Gauge[];
}

/** A register for gossipsub that keeps the series above in a registry of their own. */
export function gossipsubMetrics(topics: ReadonlyMap<string, string>): GossipsubMetrics {
  const kept: Gauge[] = [];
  const register = {
    gauge: (config: { name: string; help: string; labelNames?: string[] }) => {
      if (!KEPT.has(config.name)) return NO_GAUGE;
      const gauge = new Gauge({
        name: `tillid_${config.name}`,
        help: `gossipsub: ${config.help}`,
        labelNames: config.labelNames ?? [],
        registers: [],
      });
      kept.push(gauge);
      return gauge;
    },
    histogram: () => NO_HISTOGRAM,
    avgMinMax: () => ({ set: ignore }),
  } as unknown as MetricsRegister;
  return { register, topicLabels: new Map(topics), kept };
}
