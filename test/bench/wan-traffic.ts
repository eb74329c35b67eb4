/**
 * Where a node's bytes per block go, for bench:wan: each node's /metrics counters (gossip by topic,
 * gossipsub's wire counters, block sync, stall re-sends) read before and after a phase, set beside
 * the bytes /proc saw on the host's interface and the host's kernel counters of its API and p2p
 * ports (wan-hosts.ts). The API's bytes are the bench's own requests (submissions, and on node 1 the
 * follower's polling): reported apart, not as the node's. Of the p2p bytes, each packet's headers
 * (Ethernet, IP, TCP) are counted from the packets; what remains beyond gossipsub's RPCs and block
 * sync is noise and yamux framing, identify and ping, and the transaction and held-message fetches.
 */
import { median, PACKET_HEADER_BYTES } from './wan-proc.ts';

/** Bytes and packets through a port, counted by the host's kernel at IP level. */
export interface PortCount {
  readonly bytes: number;
  readonly packets: number;
}
export interface PortCounts {
  readonly api: PortCount;
  readonly p2p: PortCount;
}
const minus = (a: PortCount, b: PortCount): PortCount => ({
  bytes: b.bytes - a.bytes,
  packets: b.packets - a.packets,
});
export const portsSince = (a: PortCounts, b: PortCounts): PortCounts => ({
  api: minus(a.api, b.api),
  p2p: minus(a.p2p, b.p2p),
});
/** nftables counts from the IP header on; the interface's bytes include Ethernet's 14 per packet. */
const ETHERNET_BYTES = 14;
const onWire = (c: PortCount) => c.bytes + ETHERNET_BYTES * c.packets;

/** Counter series by `name{labels}`, only those the breakdown reads. */
export type Counters = Map<string, number>;

const READ = /^(tillid_gossip_|tillid_gossipsub_|tillid_sync_|tillid_consensus_resent)/;

export async function scrape(url: string): Promise<Counters> {
  const out: Counters = new Map();
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!READ.test(line)) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export const delta = (a: Counters, b: Counters): Counters =>
  new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)]));

/** Sum of the series named `name` whose labels contain every `label="value"` given. */
const pick = (c: Counters, name: string, ...labels: string[]): number => {
  let total = 0;
  for (const [k, v] of c) {
    const brace = k.indexOf('{');
    if ((brace < 0 ? k : k.slice(0, brace)) !== name) continue;
    if (labels.every((l) => k.includes(l))) total += v;
  }
  return total;
};

const TOPICS = ['tx', 'proposal', 'vote', 'status'] as const;

/** One node's phase, per block. */
export interface NodeTraffic {
  readonly rpcIn: number;
  readonly rpcOut: number;
  /** First copies received, by topic (bytes). */
  readonly firstIn: Record<string, number>;
  /** Duplicate deliveries by topic (messages) and their bytes, estimated at the topic's mean size. */
  readonly duplicates: Record<string, number>;
  readonly duplicateBytes: number;
  /** Messages this node published by topic, and those of them re-sent after a stall. */
  readonly published: Record<string, number>;
  readonly resent: number;
  /** Messages forwarded (another node's) and the peers they went to. */
  readonly forwardPeers: number;
  readonly publishPeers: number;
  readonly control: { ihave: number; iwant: number; graft: number; prune: number; idontwant: number };
  readonly syncServed: number;
  readonly syncFetched: number;
  readonly syncRequests: number;
  /** The node's own bytes: the interface's less the bench's API requests. */
  readonly own: number;
  /** The bench's API requests to this node (submissions; node 1 also the follower's polling). */
  readonly api: number;
  /** p2p packets, and their headers (Ethernet + IP + TCP). */
  readonly p2pPackets: number;
  readonly p2pHeaders: number;
  /** p2p payload beyond gossipsub RPCs and block sync: noise and yamux framing, identify, ping, fetches. */
  readonly p2pRest: number;
  /** Interface bytes on neither port (ARP and the like). */
  readonly other: number;
}

/** `iface`: the host interface's bytes and packets in the phase, and its kernel's port counts. */
export function nodeTraffic(
  c: Counters,
  blocks: number,
  iface: { bytes: number; packets: number } & PortCounts,
): NodeTraffic {
  const per = (v: number) => (blocks ? v / blocks : Number.NaN);
  const firstIn: Record<string, number> = {};
  const duplicates: Record<string, number> = {};
  const published: Record<string, number> = {};
  let duplicateBytes = 0;
  for (const t of TOPICS) {
    const topic = `topic="${t}"`;
    const bytes = pick(c, 'tillid_gossip_received_bytes_total', topic);
    const messages = pick(c, 'tillid_gossip_messages_total', topic);
    const dups = pick(c, 'tillid_gossipsub_pre_validation_duplicate_total', topic);
    firstIn[t] = per(bytes);
    duplicates[t] = per(dups);
    duplicateBytes += messages ? (dups * bytes) / messages : 0;
    published[t] = per(pick(c, 'tillid_gossip_published_total', topic));
  }
  const rpcIn = pick(c, 'tillid_gossipsub_rpc_recv_bytes_total');
  const rpcOut = pick(c, 'tillid_gossipsub_rpc_sent_bytes_total');
  const syncServed = pick(c, 'tillid_sync_bytes_total', 'side="served"');
  const syncFetched = pick(c, 'tillid_sync_bytes_total', 'side="fetched"');
  const both = (what: string) =>
    per(
      pick(c, `tillid_gossipsub_rpc_recv_${what}_total`) + pick(c, `tillid_gossipsub_rpc_sent_${what}_total`),
    );
  return {
    rpcIn: per(rpcIn),
    rpcOut: per(rpcOut),
    firstIn,
    duplicates,
    duplicateBytes: per(duplicateBytes),
    published,
    resent: per(pick(c, 'tillid_consensus_resent_total')),
    forwardPeers: per(pick(c, 'tillid_gossipsub_msg_forward_peers_total')),
    publishPeers: per(pick(c, 'tillid_gossipsub_msg_publish_peers_total')),
    control: {
      ihave: both('ihave'),
      iwant: both('iwant'),
      graft: both('graft'),
      prune: both('prune'),
      idontwant: per(pick(c, 'tillid_gossipsub_rpc_sent_idontwant_total')),
    },
    syncServed: per(syncServed),
    syncFetched: per(syncFetched),
    syncRequests: per(pick(c, 'tillid_sync_requests_total')),
    own: per(iface.bytes - onWire(iface.api)),
    api: per(onWire(iface.api)),
    p2pPackets: per(iface.p2p.packets),
    p2pHeaders: per(PACKET_HEADER_BYTES * iface.p2p.packets),
    p2pRest: per(
      onWire(iface.p2p) - PACKET_HEADER_BYTES * iface.p2p.packets - rpcIn - rpcOut - syncServed - syncFetched,
    ),
    other: per(iface.bytes - onWire(iface.api) - onWire(iface.p2p)),
  };
}

/** Lines of the breakdown: the median node's figure for each item, per block. */
export function trafficLines(nodes: readonly NodeTraffic[]): string[] {
  if (nodes.length === 0) return [];
  const m = (f: (t: NodeTraffic) => number) => median(nodes.map(f));
  const kb = (v: number) => `${(v / 1024).toFixed(v < 10 * 1024 ? 1 : 0)} KB`;
  const n = (v: number) => v.toFixed(v < 10 ? 1 : 0);
  const byTopic = (f: (t: NodeTraffic) => Record<string, number>, unit: (v: number) => string) =>
    TOPICS.map((t) => `${t} ${unit(m((x) => f(x)[t] ?? 0))}`).join(', ');
  return [
    `the node's own ${kb(m((t) => t.own))}: gossipsub RPCs in ${kb(m((t) => t.rpcIn))}, out ${kb(m((t) => t.rpcOut))}; block sync served ${kb(m((t) => t.syncServed))}, fetched ${kb(m((t) => t.syncFetched))} (${n(m((t) => t.syncRequests))} requests); TCP/IP headers ${kb(m((t) => t.p2pHeaders))} (${n(m((t) => t.p2pPackets))} packets × ${PACKET_HEADER_BYTES} B); noise/yamux framing, identify, ping, fetches ${kb(m((t) => t.p2pRest))}; other ${kb(m((t) => t.other))}. Not the node's: the bench's API requests ${kb(m((t) => t.api))}`,
    `first copies in: ${byTopic((t) => t.firstIn, kb)}; duplicate deliveries: ${byTopic((t) => t.duplicates, n)} messages ≈ ${kb(m((t) => t.duplicateBytes))}`,
    `published: ${byTopic((t) => t.published, n)} messages, of which re-sent after a stall ${n(m((t) => t.resent))}; sent to ${n(m((t) => t.publishPeers))} peers (own) + ${n(m((t) => t.forwardPeers))} (forwarded); control IHAVE ${n(m((t) => t.control.ihave))}, IWANT ${n(m((t) => t.control.iwant))}, GRAFT ${n(m((t) => t.control.graft))}, PRUNE ${n(m((t) => t.control.prune))}, IDONTWANT sent ${n(m((t) => t.control.idontwant))}`,
  ];
}
