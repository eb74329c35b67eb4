/**
 * Keeps gossip running on every connected peer. gossipsub keeps one stream each way per peer and
 * does not move them when a peer has two connections and the one carrying them closes: it then
 * drops the peer (`removePeer`) although libp2p stays connected over the other connection, and
 * never takes the peer back, because it only adds peers when a connection opens. Two connections
 * to one peer are ordinary after a network heal — both sides redial at once, or one side redials
 * while the other still holds the connection the split broke, which the peer answers with a reset
 * moments later. The node then sits connected but deaf to that peer for as long as the surviving
 * connection lives; a 2|2 split healed this way stays split for gossip, so no side reaches a
 * quorum (the container partition stall of issue 11, reproduced in test/node/p2p/reconnect.test.ts).
 *
 * The watch finds a peer that speaks gossipsub and is connected but unknown to gossipsub on two
 * checks in a row (one check's grace covers a connection whose identify has not finished), and
 * hangs up on it. The redial loop, or the peer's, then opens one fresh connection, on which
 * gossipsub starts over. The usual case is caught at once: when one of a peer's connections closes
 * and the peer, still connected, is gone from gossipsub a moment later.
 */
import type { PeerId } from '@libp2p/interface';
import type { Logger } from '../log.ts';

/** What the watch needs of the libp2p host (structural, so tests can pass the real one). */
export interface WatchedHost {
  getConnections(): { remotePeer: PeerId; status: string }[];
  hangUp(peer: PeerId): Promise<void>;
  readonly peerStore: { get(peer: PeerId): Promise<{ protocols: string[] }> };
  readonly services: { pubsub: { getPeers(): PeerId[]; readonly protocols: string[] } };
}

export class GossipWatch {
  readonly #host: WatchedHost;
  readonly #log: Logger;
  /** Called after a hang-up made outside a check, so the peer is redialled without waiting. */
  readonly #reconnect: () => void;
  /** Peers found connected but unknown to gossipsub on the last check. */
  #suspects = new Set<string>();

  constructor(host: WatchedHost, log: Logger, reconnect: () => void = () => {}) {
    this.#host = host;
    this.#log = log;
    this.#reconnect = reconnect;
  }

  /** One check; returns the peers hung up on. */
  async check(): Promise<string[]> {
    const pubsub = this.#host.services.pubsub;
    const gossiping = new Set(pubsub.getPeers().map(String));
    const connected = new Map<string, PeerId>();
    for (const c of this.#host.getConnections())
      if (c.status === 'open') connected.set(c.remotePeer.toString(), c.remotePeer);
    const suspects = new Set<string>();
    const hungUp: string[] = [];
    for (const [id, peer] of connected) {
      if (gossiping.has(id) || !(await this.#speaksGossip(peer))) continue;
      if (!this.#suspects.has(id)) {
        suspects.add(id);
        continue;
      }
      this.#log.warn({ peer: id }, 'connected peer lost by gossip; reconnecting it');
      hungUp.push(id);
      await this.#host.hangUp(peer).catch(() => {});
    }
    this.#suspects = suspects;
    return hungUp;
  }

  /**
   * One of `peer`'s connections closed. gossipsub reacts to the closed streams within a few ticks;
   * if it has dropped the peer while another connection stays open, hang up on it now rather than
   * after two checks.
   */
  connectionClosed(peer: PeerId, settleMs = 200): void {
    setTimeout(() => {
      const id = peer.toString();
      const open = this.#host
        .getConnections()
        .some((c) => c.status === 'open' && c.remotePeer.toString() === id);
      if (!open || this.#host.services.pubsub.getPeers().some((p) => p.toString() === id)) return;
      void this.#speaksGossip(peer).then(async (speaks) => {
        if (!speaks) return;
        this.#log.warn({ peer: id }, 'connected peer lost by gossip; reconnecting it');
        await this.#host.hangUp(peer).catch(() => {});
        this.#reconnect();
      });
    }, settleMs).unref();
  }

  /** Whether identify says the peer runs gossipsub (a peer that never did is not ours to repair). */
  async #speaksGossip(peer: PeerId): Promise<boolean> {
    const ours = this.#host.services.pubsub.protocols;
    const theirs = await this.#host.peerStore.get(peer).then(
      (p) => p.protocols,
      () => [] as string[],
    );
    return theirs.some((p) => ours.includes(p));
  }
}
