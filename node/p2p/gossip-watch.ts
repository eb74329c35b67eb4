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
 * stream set-up has not finished.
 */
import type { PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';

/** What the watch needs of the libp2p host (structural, so tests can pass the real one). */
export interface WatchedHost {
  getConnections(): { remotePeer: PeerId; status: string }[];
  hangUp(peer: PeerId): Promise<void>;
  readonly peerStore: { get(peer: PeerId): Promise<{ protocols: string[] }> };
  readonly services: {
    pubsub: {
      getPeers(): PeerId[];
      readonly protocols: string[];
      /** gossipsub's outgoing stream per peer id. */
      readonly streamsOutbound: ReadonlyMap<string, unknown>;
    };
  };
}

export class GossipWatch {
  readonly #host: WatchedHost;
  readonly #log: Logger;
  /** Called after a hang-up made outside a check, so the peer is redialled without waiting. */
  readonly #reconnect: () => void;
  /** Peers found lacking on the last check. */
  #suspects = new Set<string>();

  constructor(host: WatchedHost, log: Logger, reconnect: () => void = () => {}) {
    this.#host = host;
    this.#log = log;
    this.#reconnect = reconnect;
  }

  /** One periodic check; returns the peers hung up on. */
  async check(): Promise<string[]> {
    const connected = new Map<string, PeerId>();
    for (const c of this.#host.getConnections())
      if (c.status === 'open') connected.set(c.remotePeer.toString(), c.remotePeer);
    const suspects = new Set<string>();
    const hungUp: string[] = [];
    for (const [id, peer] of connected) {
      if (!(await this.#lacking(peer))) continue;
      if (!this.#suspects.has(id)) {
        suspects.add(id);
        continue;
      }
      await this.#hangUp(peer);
      hungUp.push(id);
    }
    this.#suspects = suspects;
    return hungUp;
  }

  /** One of `peer`'s connections closed: if gossip lost it while another stays open, reconnect now. */
  connectionClosed(peer: PeerId, settleMs = 200): void {
    setTimeout(() => {
      void (async () => {
        if (!(await this.#lacking(peer))) return;
        await this.#hangUp(peer);
        this.#reconnect();
      })();
    }, settleMs).unref();
  }

  /** Connected, speaks gossipsub, and gossipsub has no outgoing stream to it. */
  async #lacking(peer: PeerId): Promise<boolean> {
    const id = peer.toString();
    const open = this.#host
      .getConnections()
      .some((c) => c.status === 'open' && c.remotePeer.toString() === id);
    if (!open) return false;
    const pubsub = this.#host.services.pubsub;
    if (pubsub.streamsOutbound.has(id) && pubsub.getPeers().some((p) => p.toString() === id)) return false;
    // A peer that never ran gossipsub (identify lists its protocols) is not ours to repair.
    const theirs = await this.#host.peerStore.get(peer).then(
      (p) => p.protocols,
      () => [] as string[],
    );
    return theirs.some((p) => pubsub.protocols.includes(p));
  }

  async #hangUp(peer: PeerId): Promise<void> {
    this.#log.warn({ peer: peer.toString() }, 'connected peer lost by gossip; reconnecting it');
    await this.#host.hangUp(peer).catch(() => {});
  }
}
