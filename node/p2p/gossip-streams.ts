/**
 * gossipsub opens its outgoing stream to a peer (the one it sends on) from one queue shared by all
 * peers, one stream at a time (`outboundInflightQueue`, gossipsub 17): each waits for the peer to
 * answer protocol negotiation — a WAN round trip plus however long the peer takes to get a CPU —
 * and one that never answers holds the queue for libp2p's whole negotiation budget (10 s). When a
 * network of N authorities starts, each node has N − 1 of these to open at once: at N = 31 on a
 * starved box (31 processes on 2 cores, each peer slow to answer) the last peers of the queue got
 * their stream after more than the gossip watch's set-up grace, were hung up on (gossip-watch.ts),
 * and queued again behind the others: the network never connected (deploy/TOPOLOGIES.md, N = 31).
 *
 * This replaces that queue with one chain per peer: streams to different peers are negotiated side
 * by side, a slow or dead peer holds up only its own, and requests for one peer still run one after
 * another, as gossipsub expects (the second finds the stream the first opened and does nothing).
 * gossipsub's own consumer of the old queue is ended. Reached through fields gossipsub does not
 * export: `parallelOutboundStreams` throws if they are gone, so an upgrade fails at start.
 */
import type { Connection, PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';

interface Queued {
  peerId: PeerId;
  connection: Connection;
}

/** What this needs of gossipsub's implementation (private fields, checked at run time). */
interface GossipsubInternals {
  outboundInflightQueue: { push(item: Queued): void; end(): void };
  createOutboundStream(peerId: PeerId, connection: Connection): Promise<void>;
  readonly streamsOutbound: Map<string, unknown>;
}

/**
 * Makes `pubsub` (a started gossipsub) open outgoing streams per peer in parallel. `now` measures
 * how long each took (logged at debug).
 */
export function parallelOutboundStreams(
  pubsub: unknown,
  log: Logger,
  now: () => number = () => performance.now(),
): void {
  const g = pubsub as Partial<GossipsubInternals>;
  const old = g.outboundInflightQueue;
  if (
    typeof old?.push !== 'function' ||
    typeof old.end !== 'function' ||
    typeof g.createOutboundStream !== 'function' ||
    !(g.streamsOutbound instanceof Map)
  )
    throw new Error('gossipsub no longer has outboundInflightQueue / createOutboundStream');
  const create = g.createOutboundStream.bind(pubsub) as GossipsubInternals['createOutboundStream'];
  const streams = g.streamsOutbound;
  const chains = new Map<string, Promise<void>>();
  let ended = false;
  const open = async ({ peerId, connection }: Queued): Promise<void> => {
    const id = peerId.toString();
    if (ended || streams.has(id) || connection.status !== 'open') return;
    const from = now();
    await create(peerId, connection);
    // The per-connection timeline when asked for (log level debug): how long negotiation took,
    // and how old the connection was by then (the watch judges connections by that age).
    log.debug(
      {
        peer: id,
        ms: Math.round(now() - from),
        opened: streams.has(id),
        connectionAgeMs: Date.now() - connection.timeline.open,
      },
      'gossip outgoing stream set up',
    );
  };
  (pubsub as GossipsubInternals).outboundInflightQueue = {
    push(item) {
      const id = item.peerId.toString();
      const next = (chains.get(id) ?? Promise.resolve()).then(() => open(item)).catch(() => {});
      chains.set(id, next);
      void next.then(() => {
        if (chains.get(id) === next) chains.delete(id);
      });
    },
    end() {
      ended = true;
    },
  };
  // gossipsub's loop over the old queue finishes once it has no more items.
  old.end();
}
