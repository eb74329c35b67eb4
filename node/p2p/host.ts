/**
 * The libp2p host: TCP, noise encryption, yamux multiplexing, identify and gossipsub. Only peers
 * whose keys are on the allow-list (the authorities, plus configured observers) get past the
 * connection gater, in either direction; everyone else's connection is closed after the noise
 * handshake proves who they are. Configured peers and the authorities' on-chain addresses are
 * redialled whenever they drop; a peer that leaves the allow-list is hung up on, and so is a peer
 * that gossipsub lost while still connected, so that it reconnects (gossip-watch.ts).
 */
import { gossipsub, TopicValidatorResult } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { PeerId } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import type { Metric } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/hash.ts';
import { sha256 } from '../protocol/hash.ts';
import type { KeyPair, MessageSigner } from '../protocol/signature.ts';
import { AGENT_VERSION, PROTOCOL_VERSION, parseAgentVersion, SOFTWARE_VERSION } from '../protocol/version.ts';
import { parallelOutboundStreams } from './gossip-streams.ts';
import { GossipWatch } from './gossip-watch.ts';
import { gossipsubMetrics } from './gossipsub-metrics.ts';
import { libp2pKey, publicKeyOfPeer } from './identity.ts';
import { oneWritePerFrame } from './tcp-writes.ts';

/** How long one dial may take (libp2p's default): under load, set-up itself takes seconds. */
const DIAL_TIMEOUT_MS = 10_000;
/** The least time between two dials of one peer (below the 2 s period, so no period is skipped). */
const MIN_REDIAL_MS = 1500;

/**
 * Inbound connections still in their handshake (noise, yamux) that a node accepts at once. libp2p's
 * default, 10, is below what a network of authorities starting together sends: each node is dialled
 * by every other, and on a loaded host a handshake takes seconds, so at N = 31 most were refused and
 * redialled. A peer's key is known only after the handshake, so this still bounds what strangers
 * can hold open; 64 covers a consortium of that many authorities dialling at once.
 */
const MAX_INBOUND_HANDSHAKES = 64;

/**
 * How old a message kept without forwarding must be before it is announced to the mesh by IHAVE
 * (at gossipsub's 1 s heartbeat): longer than the WAN's jitter and a busy node's lag in handling the
 * author's own copy, short enough that a peer not connected to the author gets it within ≈ 1.3 s.
 */
const ANNOUNCE_AFTER_MS = 300;

/** gossipsub's mesh degree and gossip fan-out for a fully connected, allow-listed network (below). */
export const MESH = { D: 3, Dlo: 2, Dhi: 4, Dout: 1, Dscore: 1, Dlazy: 3, gossipFactor: 0.1 } as const;

/** Gossip messages are small (a vote, a transaction, a proposal of at most a full block). */
export const MAX_GOSSIP_BYTES = 8 * 1024 * 1024;

export interface HostOptions {
  /** The node's key: its signer (a key file's or an HSM's), or a bare key pair in tests and tools. */
  readonly identity: KeyPair | MessageSigner;
  /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/7201. */
  readonly listen: readonly string[];
  /** Public multiaddrs to advertise instead of the listen addresses (none: the listen addresses). */
  readonly announce?: readonly string[];
  /** Multiaddrs of peers to keep connected, each ending in /p2p/<peer id>. */
  readonly peers: readonly string[];
  /** The gossip topics this node uses, scored so invalid messages cost their sender (see below). */
  readonly topics: readonly string[];
  /**
   * Addresses learned at run time (the authorities' on-chain addresses), asked for at every redial
   * and kept connected like `peers`.
   */
  readonly discover?: () => Promise<readonly string[]>;
  /** Whether a key may connect. Consulted on every connection, so membership changes apply live. */
  readonly allowed: (publicKey: Hex) => boolean;
  readonly log: Logger;
  /** What identify announces; AGENT_VERSION unless a test plays another release. */
  readonly agentVersion?: string;
}

export type Host = Libp2p<{
  pubsub: ReturnType<ReturnType<typeof gossipsub>>;
  identify: ReturnType<ReturnType<typeof identify>>;
}>;

export interface RunningHost {
  readonly host: Host;
  /** Peers gossipsub exchanges messages with (fewer than the connected peers while one is lost). */
  gossipPeers(): number;
  /** Each identified peer's agent version (`tillid/<software> protocol/<n>`), by peer id. */
  peerAgents(): Record<string, string>;
  /** gossipsub's wire counters (gossipsub-metrics.ts), for the node's /metrics. */
  readonly metrics: readonly Metric[];
  /**
   * What becomes of a message delivered to this node (gossipsub validates asynchronously: nothing is
   * forwarded until this is called). `forward`: sent on to the mesh peers, as gossipsub would. Not
   * forwarded: kept for IWANT and IHAVE gossip, and announced by IHAVE to the mesh peers (but
   * `source`) at the first heartbeat once ANNOUNCE_AFTER_MS old; a mesh peer that lacks it asks for
   * it (gossip.ts says when a message need not be forwarded).
   */
  release(
    message: { topic: string; data: Uint8Array },
    msgId: string,
    source: PeerId,
    forward: boolean,
  ): void;
  /** Disconnects `peer` and refuses it for `ms` milliseconds. */
  ban(peer: PeerId, ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function createHost(options: HostOptions): Promise<RunningHost> {
  const { log } = options;
  const banned = new Map<string, number>();
  const deny = (peerId: PeerId): boolean => {
    const key = publicKeyOfPeer(peerId);
    const until = banned.get(peerId.toString());
    if (until !== undefined && until > Date.now()) return true;
    if (key !== undefined && options.allowed(key)) return false;
    log.warn({ peer: peerId.toString() }, 'refused a peer that is not on the allow-list');
    return true;
  };
  // Topics are /tillid/<chain>/<name>/<version>: labelled by <name>.
  const metrics = gossipsubMetrics(new Map(options.topics.map((t) => [t, t.split('/')[3] ?? t])));
  const host = (await createLibp2p({
    privateKey: await libp2pKey(options.identity),
    nodeInfo: { name: 'tillid', version: SOFTWARE_VERSION, userAgent: options.agentVersion ?? AGENT_VERSION },
    // With an announce address, identify advertises only it: peers across a WAN must not learn
    // (and redial) 0.0.0.0, 127.0.0.1 or a container's private address.
    addresses: {
      listen: [...options.listen],
      ...(options.announce && options.announce.length > 0 ? { announce: [...options.announce] } : {}),
    },
    connectionManager: { maxIncomingPendingConnections: MAX_INBOUND_HANDSHAKES },
    transports: [oneWritePerFrame(tcp())],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Tillid messages carry their own Ed25519 signatures; libp2p's would be a second, redundant one.
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: (message) => sha256(message.data),
        allowPublishToZeroTopicPeers: true,
        fallbackToFloodsub: false,
        emitSelf: false,
        // Forwarding is decided after delivery, per message (release below, gossip.ts).
        asyncValidation: true,
        maxInboundDataLength: MAX_GOSSIP_BYTES,
        // A small mesh: every authority is connected to every other, and flood publishing (on by
        // default) hands each peer its first copy straight from the author. The mesh only forwards,
        // so a message still arrives when a link is down; each mesh peer forwarding it is one more
        // duplicate per message at every node. gossipsub's defaults (D 6, up to 12) are for open
        // networks of unknown peers: at N = 8 they made each vote arrive about six times (bench:wan
        // breakdown, deploy/TOPOLOGIES.md). Three mesh peers keep the mesh connected; IHAVE gossip
        // (lost-message recovery) goes to 3 peers a heartbeat, or 10 % of the rest.
        ...MESH,
        metricsRegister: metrics.register,
        metricsTopicStrToLabel: metrics.topicLabels,
        // Peer scoring counts what matters in a permissioned network: invalid messages. Each one
        // rejected by a validator costs its sender 4·n² (n invalid so far, slowly forgiven): at
        // the fifth the score passes the graylist threshold and gossipsub stops listening, by
        // which time gossip.ts has disconnected it. Delivery-rate and IP-colocation scores are
        // off: a quiet consortium sends few messages, and many nodes may share one host.
        scoreParams: {
          IPColocationFactorWeight: 0,
          topics: Object.fromEntries(
            options.topics.map((topic) => [
              topic,
              createTopicScoreParams({
                topicWeight: 1,
                timeInMeshWeight: 0,
                firstMessageDeliveriesWeight: 0,
                meshMessageDeliveriesWeight: 0,
                meshFailurePenaltyWeight: 0,
                invalidMessageDeliveriesWeight: -4,
                invalidMessageDeliveriesDecay: 0.99,
              }),
            ]),
          ),
        },
        scoreThresholds: { gossipThreshold: -20, publishThreshold: -40, graylistThreshold: -80 },
      }),
    },
  })) as unknown as Host;

  // Keep configured and on-chain peers connected: dial on start and again whenever they are not
  // connected. A peer no longer allowed (voted out, or its key rotated) is hung up on: the gater
  // only sees new connections. Before that, hang up on peers gossip lost while connected, so they
  // are redialled too.
  const configured = options.peers.map((a) => multiaddr(a));
  // The watch reads gossipsub's outgoing streams (and drops a dead one gossipsub missed the close
  // of): a public field of its implementation, not of its interface. Checked here so an upgrade
  // that renames it fails at start, not silently later.
  const pubsub = host.services.pubsub as Host['services']['pubsub'] & {
    streamsOutbound?: Map<string, unknown>;
  };
  const streamsOutbound = pubsub.streamsOutbound;
  if (!(streamsOutbound instanceof Map)) throw new Error('gossipsub no longer exposes streamsOutbound');
  // A message kept without forwarding is marked valid in gossipsub's message cache (so it is served
  // on IWANT and named in IHAVE gossip) and announced to the mesh by IHAVE: public methods of its
  // implementation, not of its interface, checked here for the same reason.
  const lazy = pubsub as unknown as {
    reportMessageValidationResult(msgId: string, source: string, acceptance: TopicValidatorResult): void;
    getMeshPeers(topic: string): string[];
    mcache?: { validate?: (msgId: string) => unknown };
    pushGossip?: (peer: string, ihave: { topicID: string; messageIDs: Uint8Array[] }) => void;
  };
  const mcache = lazy.mcache;
  if (typeof mcache?.validate !== 'function' || typeof lazy.pushGossip !== 'function')
    throw new Error('gossipsub no longer exposes mcache.validate and pushGossip');
  // Outgoing gossip streams set up per peer side by side, not one peer after another (gossip-streams.ts).
  parallelOutboundStreams(pubsub, log);
  const watched = {
    getConnections: () => host.getConnections(),
    hangUp: (peer: PeerId) => host.hangUp(peer),
    peerStore: host.peerStore,
    services: {
      pubsub: { getPeers: () => pubsub.getPeers(), protocols: pubsub.protocols, streamsOutbound },
    },
  };
  // Messages kept without forwarding, announced to the mesh at a heartbeat once ANNOUNCE_AFTER_MS
  // old: by then a peer connected to the author has its copy, so only a peer that lacks it asks. At
  // once, the IHAVE often overtook the author's own copy (a few ms of jitter, or a busy event loop)
  // and the peer fetched the message it was about to receive: bench:wan counted 6–13 IWANTs per node
  // per block at N = 8, and under load 200.
  let unannounced: { topic: string; id: Uint8Array; from: string; at: number }[] = [];
  pubsub.addEventListener('gossipsub:heartbeat', () => {
    const due = performance.now() - ANNOUNCE_AFTER_MS;
    const byPeer = new Map<string, Map<string, Uint8Array[]>>();
    for (const m of unannounced) {
      if (m.at > due) continue;
      for (const peer of lazy.getMeshPeers(m.topic)) {
        if (peer === m.from) continue;
        const topics = byPeer.get(peer) ?? new Map<string, Uint8Array[]>();
        byPeer.set(peer, topics);
        topics.set(m.topic, [...(topics.get(m.topic) ?? []), m.id]);
      }
    }
    unannounced = unannounced.filter((m) => m.at > due);
    // One IHAVE per peer and topic; it goes with the next RPC to the peer, or at the next heartbeat.
    for (const [peer, topics] of byPeer)
      for (const [topicID, messageIDs] of topics) lazy.pushGossip?.(peer, { topicID, messageIDs });
  });
  const watch = new GossipWatch(watched, log, () => void redial());
  let stopped = false;
  let checking = false;
  /** Peers with a dial in flight, and when each was last dialled. */
  const dialling = new Set<string>();
  const dialledAt = new Map<string, number>();
  const redial = async () => {
    // A check (and the on-chain addresses it asks for) can outlast the interval: one at a time.
    if (stopped || checking) return;
    checking = true;
    try {
      await watch.check();
      await redialOnce();
    } finally {
      checking = false;
    }
  };
  const redialOnce = async () => {
    for (const connection of host.getConnections()) {
      const key = publicKeyOfPeer(connection.remotePeer);
      if (key !== undefined && !options.allowed(key)) {
        log.info({ peer: connection.remotePeer.toString() }, 'hung up on a peer no longer on the allow-list');
        await host.hangUp(connection.remotePeer).catch(() => {});
      }
    }
    const targets = [...configured, ...(await discovered())];
    const seen = new Set<string>();
    for (const target of targets) {
      const peer = target.getComponents().findLast((c) => c.name === 'p2p')?.value;
      if (peer === undefined || seen.has(peer) || peer === host.peerId.toString()) continue;
      seen.add(peer);
      if (stopped || dialling.has(peer)) continue;
      if (host.getConnections().some((c) => c.remotePeer.toString() === peer)) continue;
      // At most one dial per peer and period: a peer whose gater refuses this node (a newcomer
      // before the vote) closes each connection at once, and redialling on every disconnect
      // would hammer it with handshakes. A long-held connection that drops is redialled at once.
      const now = Date.now();
      if (now - (dialledAt.get(peer) ?? 0) < MIN_REDIAL_MS) continue;
      dialledAt.set(peer, now);
      // Not awaited: each peer has at most one dial in flight, with libp2p's own dial budget. On a
      // loaded host a TCP + noise + yamux set-up can take seconds (seen: 10-20 s at load 60-90),
      // and a dial cut short at 2 s can fail on every retry; a slow or unreachable peer holds up no
      // other peer's dial, as it did when they were dialled one after another.
      dialling.add(peer);
      void host
        .dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        .catch((e: Error) => {
          log.debug({ peer: target.toString(), err: e.message }, 'peer not reachable yet');
        })
        .finally(() => dialling.delete(peer));
    }
  };
  // A configured peer that dropped is redialled at once, not at the next period: after a network
  // heal, or after the watch hung up on it, that is when the way back is open.
  host.addEventListener('peer:disconnect', () => {
    if (!stopped) setTimeout(() => void redial(), 100).unref();
  });
  host.addEventListener('connection:close', (e) => {
    if (!stopped) watch.connectionClosed(e.detail.remotePeer);
  });
  /** On-chain addresses that parse; a bad one is skipped (and logged once), never fatal. */
  const badAddresses = new Set<string>();
  const discovered = async () => {
    const out = [];
    for (const address of (await options.discover?.()) ?? []) {
      try {
        out.push(multiaddr(address));
      } catch (e) {
        if (!badAddresses.has(address))
          log.warn({ address, err: (e as Error).message }, 'an on-chain peer address is not a multiaddr');
        badAddresses.add(address);
      }
    }
    return out;
  };
  const timer = setInterval(() => void redial(), 2000);
  void redial();
  host.addEventListener('peer:connect', (e) => log.info({ peer: e.detail.toString() }, 'peer connected'));
  // Versions from the identify handshake. A peer of another protocol shares no topic or sync
  // protocol with this node (protocol/version.ts), so nothing it sends can reach consensus here;
  // the operator is told once per peer which side needs upgrading.
  const agents = new Map<string, string>();
  host.addEventListener('peer:identify', (e) => {
    const peer = e.detail.peerId.toString();
    const agent = e.detail.agentVersion ?? 'unknown';
    if (agents.get(peer) === agent) return;
    agents.set(peer, agent);
    const theirs = parseAgentVersion(agent);
    if (theirs?.protocol === PROTOCOL_VERSION) {
      if (theirs.software !== SOFTWARE_VERSION)
        log.info({ peer, agent, ours: AGENT_VERSION }, 'peer runs another software release of this protocol');
      return;
    }
    log.warn(
      { peer, agent, ours: AGENT_VERSION },
      theirs
        ? `peer speaks Tillid protocol ${theirs.protocol}, this node protocol ${PROTOCOL_VERSION}: their blocks and votes are not exchanged; ${theirs.protocol > PROTOCOL_VERSION ? 'upgrade this node' : 'that peer must upgrade'} (deploy/UPGRADES.md)`
        : 'peer announces no Tillid protocol version; nothing it sends on other protocols reaches consensus here',
    );
  });
  host.addEventListener('peer:disconnect', (e) => agents.delete(e.detail.toString()));
  host.addEventListener('peer:disconnect', (e) =>
    log.info({ peer: e.detail.toString() }, 'peer disconnected'),
  );

  return {
    host,
    metrics: metrics.kept,
    gossipPeers: () => host.services.pubsub.getPeers().length,
    peerAgents: () => Object.fromEntries(agents),
    release: (message, msgId, source, forward) => {
      const from = source.toString();
      if (forward) {
        lazy.reportMessageValidationResult(msgId, from, TopicValidatorResult.Accept);
        return;
      }
      if (mcache.validate?.(msgId) == null) return; // no longer cached: nothing to announce
      // The id gossipsub knows it by: msgIdFn's (above).
      unannounced.push({ topic: message.topic, id: sha256(message.data), from, at: performance.now() });
    },
    ban: async (peer, ms) => {
      banned.set(peer.toString(), Date.now() + ms);
      log.warn({ peer: peer.toString(), seconds: ms / 1000 }, 'disconnected a misbehaving peer');
      await host.hangUp(peer).catch(() => {});
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await host.stop();
    },
  };
}
