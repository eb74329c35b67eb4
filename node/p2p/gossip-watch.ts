/**
 * Keeps gossip running on every connected peer. gossipsub keeps one stream each way per peer, opens
 * its outgoing stream only when a connection to a new peer opens, and does not move its streams
 * when a peer has two connections and the one carrying them closes. Two connections to one peer are
 * ordinary after a network heal: the side that noticed the split dropped its connection and redials,
 * while the other side still holds the connection the split broke, which the peer answers with a
 * reset moments later. What gossipsub is left with depends on which streams that connection
 * carried: no outgoing stream to the peer (this node can no longer send to it, though it still
 * hears it), or no peer at all (`removePeer`, while libp2p stays connected). Either way nothing
 * repairs it while the surviving connection lives: a 2|2 split healed like this stays split for
 * gossip — each side hears the other but cannot answer — and no side reaches a quorum (the
 * container partition stall of issue 11, reproduced in test/node/p2p/reconnect.test.ts).
 *
 * The watch hangs up on a peer that speaks gossipsub and is connected while gossipsub does not
 * have it with an outgoing stream; libp2p then redials (host.ts) and gossipsub starts over on one
 * fresh connection. It looks when one of a peer's connections closes (after a short settle, since
 * gossipsub reacts to closed streams asynchronously), and on every periodic check, where a peer
 * must be found lacking twice in a row: one period's grace for a connection whose identify or
 * stream set-up has not finished — and only once that connection is SETUP_GRACE_MS old.
 *
 * An outgoing stream gossipsub still lists is not enough: it must be open. gossipsub listens for
 * the close of an outgoing stream only once `newStream` has returned it; when the connection dies
 * in between (it was hung up on, or reset, while gossipsub set the stream up) the close is never
 * seen, and the dead stream stays in `streamsOutbound` for good — also when the peer itself was
 * removed meanwhile, as `removePeer` of an absent peer clears nothing. gossipsub then refuses to
 * open an outgoing stream on any later connection ("one exists already"), so it never sends to
 * that peer again nor tells it its subscriptions: the peer stays deaf to this node while both look
 * connected (the flaky reconnect test of issue 11, at high load). The watch drops such a dead
 * entry, which only gossipsub's missed close handler would have dropped, and hangs up so the
 * reconnection sets up fresh streams.
 *
 * The check after a closed connection judges only the connections that were open when it closed:
 * one opened since (the redial) is still setting up gossip, and hanging up on it half-way is what
 * let the dead stream above arise. The periodic check likewise hangs up only when a connection it
 * found lacking before is still open, not a newer one of the same peer.
 *
 * The set-up grace backs off per peer. Hanging up on a connection whose set-up was merely slow
 * starts that set-up over, and on a starved host it is slow again: at N = 31 on 2 cores every
 * connection was hung up at 10 s and redialled, forever (deploy/TOPOLOGIES.md). So each hang-up of
 * a peer for a set-up not done doubles the grace that peer's next connection gets (10, 20, 40, 80,
 * 120 s at most), and the grace returns to SETUP_GRACE_MS once gossip with the peer is seen
 * working. A dead outgoing stream is no slowness: it is hung up on at once, whatever the grace.
 */
import type { PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';

/** What the watch needs of the libp2p host (structural, so tests can pass the real one). */
export interface WatchedHost {
  getConnections(): { id: string; remotePeer: PeerId; status: string; timeline: { open: number } }[];
  hangUp(peer: PeerId): Promise<void>;
  readonly peerStore: { get(peer: PeerId): Promise<{ protocols: string[] }> };
  readonly services: {
    pubsub: {
      getPeers(): PeerId[];
      readonly protocols: string[];
      /**
       * gossipsub's outgoing stream per peer id: `{ rawStream }` with the libp2p stream's status.
       * Writable because the watch drops an entry whose stream is dead (see above).
       */
      readonly streamsOutbound: Map<string, unknown>;
    };
  };
}

/**
 * How long a connection may take to set up gossip (identify, then gossipsub's outgoing stream)
 * before the periodic check may judge it: libp2p's own protocol negotiation budget. Two checks in
 * a row (2 s apart) were too little on a loaded host, where the set-up takes several seconds:
 * the watch hung up on connections 1-9 s old, each redial started the set-up over, and members
 * took minutes to keep a newcomer connected (the joining test, at load 35-90).
 */
export const SETUP_GRACE_MS = 10_000;
/** The most a peer's set-up grace grows to after repeated hang-ups (see above). */
export const MAX_SETUP_GRACE_MS = 120_000;

export class GossipWatch {
  readonly #host: WatchedHost;
  readonly #log: Logger;
  /** Called after a hang-up made outside a check, so the peer is redialled without waiting. */
  readonly #reconnect: () => void;
  /** Peers found lacking on the last check, with their connections open at that time. */
  #suspects = new Map<string, Set<string>>();
  /** Peers whose grace was raised by hang-ups, with their current grace in ms. */
  #grace = new Map<string, number>();

  readonly #now: () => number;

  constructor(host: WatchedHost, log: Logger, reconnect: () => void = () => {}, now = Date.now) {
    this.#host = host;
    this.#log = log;
    this.#reconnect = reconnect;
    this.#now = now;
  }

  /** One periodic check; returns the peers hung up on. */
  async check(): Promise<string[]> {
    const connected = new Map<string, { peer: PeerId; connections: Set<string>; settled: Set<string> }>();
    const now = this.#now();
    for (const c of this.#host.getConnections()) {
      if (c.status !== 'open') continue;
      const id = c.remotePeer.toString();
      const entry = connected.get(id) ?? {
        peer: c.remotePeer,
        connections: new Set<string>(),
        settled: new Set<string>(),
      };
      entry.connections.add(c.id);
      if (now - c.timeline.open >= this.graceOf(id)) entry.settled.add(c.id);
      connected.set(id, entry);
    }
    const suspects = new Map<string, Set<string>>();
    const hungUp: string[] = [];
    for (const [id, { peer, connections, settled }] of connected) {
      const verdict = await this.#lacking(peer);
      if (verdict === 'working') this.#working(id);
      if (verdict === 'working' || verdict === false) continue;
      const before = this.#suspects.get(id);
      // Lacking is judged on a connection found lacking before that has had its set-up time.
      if (verdict === 'lacking' && (before === undefined || ![...settled].some((c) => before.has(c)))) {
        suspects.set(id, connections);
        continue;
      }
      const grace = this.graceOf(id);
      if (verdict === 'lacking') this.#grace.set(id, Math.min(2 * grace, MAX_SETUP_GRACE_MS));
      await this.#hangUp(peer, {
        reason: verdict === 'dead' ? 'dead outgoing stream' : 'gossip not set up within the grace',
        graceS: grace / 1000,
        nextGraceS: this.graceOf(id) / 1000,
      });
      hungUp.push(id);
    }
    this.#suspects = suspects;
    return hungUp;
  }

  /** How long a connection to `peer` may take to set up gossip before a check may judge it. */
  graceOf(peer: string): number {
    return this.#grace.get(peer) ?? SETUP_GRACE_MS;
  }

  /** Gossip with `peer` works: its grace, if raised, returns to the default. */
  #working(peer: string): void {
    const grace = this.#grace.get(peer);
    if (grace === undefined) return;
    this.#grace.delete(peer);
    this.#log.info({ peer, graceS: grace / 1000 }, 'gossip set up with a peer after a longer grace');
  }

  /**
   * One of `peer`'s connections closed: if gossip lost it while another connection, open already
   * at the close, stays open, reconnect now.
   */
  connectionClosed(peer: PeerId, settleMs = 200): void {
    const survivors = this.#openConnections(peer);
    if (survivors.size === 0) return;
    setTimeout(() => {
      void (async () => {
        if (![...this.#openConnections(peer)].some((c) => survivors.has(c))) return;
        const verdict = await this.#lacking(peer);
        if (verdict !== 'lacking' && verdict !== 'dead') return;
        await this.#hangUp(peer, { reason: 'gossip lost with a closed connection' });
        this.#reconnect();
      })();
    }, settleMs).unref();
  }

  #openConnections(peer: PeerId): Set<string> {
    const id = peer.toString();
    return new Set(
      this.#host
        .getConnections()
        .filter((c) => c.status === 'open' && c.remotePeer.toString() === id)
        .map((c) => c.id),
    );
  }

  /**
   * Connected, speaks gossipsub, and gossipsub has no open outgoing stream to it: `dead` when
   * gossipsub still listed a dead one (dropped here), which no wait repairs. `working` when
   * gossipsub has the peer with an open outgoing stream; false when there is nothing to judge.
   */
  async #lacking(peer: PeerId): Promise<false | 'working' | 'lacking' | 'dead'> {
    const id = peer.toString();
    const connected = this.#host
      .getConnections()
      .some((c) => c.status === 'open' && c.remotePeer.toString() === id);
    if (!connected) return false;
    const pubsub = this.#host.services.pubsub;
    const outbound = pubsub.streamsOutbound.get(id);
    let verdict: 'lacking' | 'dead' = 'lacking';
    if (outbound !== undefined && !streamOpen(outbound)) {
      this.#log.warn({ peer: id }, 'gossip kept a dead outgoing stream to a connected peer; dropping it');
      pubsub.streamsOutbound.delete(id);
      verdict = 'dead';
    } else if (outbound !== undefined && pubsub.getPeers().some((p) => p.toString() === id)) return 'working';
    // A peer that never ran gossipsub (identify lists its protocols) is not ours to repair.
    const theirs = await this.#host.peerStore.get(peer).then(
      (p) => p.protocols,
      () => [] as string[],
    );
    return theirs.some((p) => pubsub.protocols.includes(p)) ? verdict : false;
  }

  async #hangUp(peer: PeerId, why: Record<string, unknown>): Promise<void> {
    this.#log.warn({ peer: peer.toString(), ...why }, 'connected peer lost by gossip; reconnecting it');
    await this.#host.hangUp(peer).catch(() => {});
  }
}

/**
 * Whether gossipsub's outgoing stream can still carry messages. Its libp2p stream is `rawStream`
 * (gossipsub 17); without one this cannot tell, and the stream counts as open as before.
 */
function streamOpen(outbound: unknown): boolean {
  const raw = (outbound as { rawStream?: { status?: string; writeStatus?: string } }).rawStream;
  if (raw === undefined) return true;
  return raw.status === 'open' && raw.writeStatus !== 'closed' && raw.writeStatus !== 'closing';
}
