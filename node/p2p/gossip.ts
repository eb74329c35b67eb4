/**
 * Gossip topics with validation before forwarding. Every message is parsed and judged by its
 * topic's validator — Accept (deliver and forward), Ignore (drop quietly: stale or duplicate) or
 * Reject (drop and count against the sender) — and every outcome is counted in metrics, as in
 * Lodestar. A peer that keeps sending rejected messages is disconnected and refused for a while;
 * gossipsub's own scoring additionally penalises invalid deliveries.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { RunningHost } from './host.ts';

export type Verdict = 'accept' | 'ignore' | 'reject';
export type Judgement<T> = { verdict: 'accept'; value: T } | { verdict: 'ignore' | 'reject'; reason: string };

export interface TopicHandler<T> {
  /** Checks a parsed message before it is delivered or forwarded. A throw counts as a reject. */
  validate(message: unknown, from: PeerId): Judgement<T> | Promise<Judgement<T>>;
  deliver(value: T, from: PeerId): void;
  /**
   * Whether `from`, the peer that handed this node the message, is its author (a vote's or a
   * proposal's signer, an authority's own status). The author flood-publishes to every peer it is
   * connected to, so such a message is not forwarded along the mesh — in a fully connected
   * network each forwarded copy is a duplicate at a node that has it already. It is announced to
   * the mesh peers by IHAVE instead (host.ts `release`), so a peer not connected to the author asks
   * for it. Without this, or when it says no, the message is forwarded as gossipsub does.
   */
  fromAuthor?(value: T, from: PeerId): boolean;
}

const RESULT = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
} as const;

/** Rejected messages a peer may send within STRIKE_WINDOW_MS before it is disconnected. */
const STRIKES = 5;
const STRIKE_WINDOW_MS = 60_000;
const BAN_MS = 10 * 60_000;

/** The gossipsub topic for `name` on chain `chainId`. */
export const topicName = (chainId: string, name: string): string =>
  `/tillid/${chainId}/${name}/${PROTOCOL_VERSION}`;

/** Every topic a node subscribes to. */
export const TOPICS = ['tx', 'proposal', 'vote', 'status'] as const;

/** Bytes and messages by topic, for /metrics: where a node's bandwidth goes. */
export interface GossipTraffic {
  /** Bytes of each message received and validated (first copies: gossipsub drops duplicates before). */
  readonly receivedBytes: Counter<'topic'>;
  /** Messages this node published, and their bytes (once each, however many peers get them). */
  readonly published: Counter<'topic'>;
  readonly publishedBytes: Counter<'topic'>;
}

export class Gossip {
  readonly #running: RunningHost;
  readonly #chainId: string;
  readonly #outcomes: Counter<'topic' | 'outcome'>;
  readonly #log: Logger;
  readonly #traffic: GossipTraffic | undefined;
  readonly #strikes = new Map<string, number[]>();
  /** Validated values by message bytes, so a message is parsed and checked once. */
  readonly #validated = new WeakMap<Uint8Array, unknown>();

  constructor(
    running: RunningHost,
    chainId: string,
    outcomes: Counter<'topic' | 'outcome'>,
    log: Logger,
    traffic?: GossipTraffic,
  ) {
    this.#running = running;
    this.#traffic = traffic;
    this.#chainId = chainId;
    this.#outcomes = outcomes;
    this.#log = log;
    // Unsigned gossip names no author: the peer a message came from is the one its validator saw.
    // gossipsub validates asynchronously (host.ts): each delivered message is forwarded, or not,
    // here, before the handler sees it.
    running.host.services.pubsub.addEventListener('gossipsub:message', (event) => {
      const { msg, msgId, propagationSource } = event.detail;
      const handle = this.#handlers.get(msg.topic);
      const forward = handle?.forward(msg.data) ?? true;
      running.release(msg, msgId, propagationSource, forward);
      handle?.deliver(msg.data);
    });
  }

  readonly #handlers = new Map<
    string,
    { forward(data: Uint8Array): boolean; deliver(data: Uint8Array): void }
  >();
  /** The peer each validated message arrived from, by message bytes. */
  readonly #sources = new WeakMap<Uint8Array, PeerId>();

  topic(name: string): string {
    return topicName(this.#chainId, name);
  }

  on<T>(name: string, handler: TopicHandler<T>): void {
    const topic = this.topic(name);
    const pubsub = this.#running.host.services.pubsub;
    pubsub.topicValidators.set(topic, async (from, message) => {
      let verdict: Verdict;
      let reason = '';
      this.#traffic?.receivedBytes.inc({ topic: name }, message.data.length);
      try {
        const result = await handler.validate(JSON.parse(new TextDecoder().decode(message.data)), from);
        verdict = result.verdict;
        if (result.verdict === 'accept') {
          this.#validated.set(message.data, result.value);
          this.#sources.set(message.data, from);
        } else reason = result.reason;
      } catch (e) {
        verdict = 'reject';
        reason = e instanceof SyntaxError ? 'not JSON' : (e as Error).message;
      }
      this.#outcomes.inc({ topic: name, outcome: verdict });
      if (verdict === 'reject') this.#strike(from, name, reason);
      return RESULT[verdict];
    });
    this.#handlers.set(topic, {
      forward: (data) =>
        !this.#validated.has(data) ||
        !(handler.fromAuthor?.(this.#validated.get(data) as T, this.#sources.get(data) as PeerId) ?? false),
      deliver: (data) => {
        if (!this.#validated.has(data)) return;
        handler.deliver(this.#validated.get(data) as T, this.#sources.get(data) as PeerId);
      },
    });
    pubsub.subscribe(topic);
  }

  /** Publishes to every subscribed peer; a message with no peers yet is not an error. */
  async publish(name: string, value: unknown): Promise<void> {
    const data = new TextEncoder().encode(JSON.stringify(value));
    this.#traffic?.published.inc({ topic: name });
    this.#traffic?.publishedBytes.inc({ topic: name }, data.length);
    await this.#running.host.services.pubsub.publish(this.topic(name), data).catch((e: Error) => {
      // Duplicates (we re-broadcast what we already sent) are expected; anything else is worth a line.
      if (!/duplicate/i.test(e.message)) this.#log.debug({ topic: name, err: e.message }, 'publish failed');
    });
  }

  #strike(peer: PeerId, topic: string, reason: string): void {
    const key = peer.toString();
    const now = Date.now();
    const recent = (this.#strikes.get(key) ?? []).filter((t) => now - t < STRIKE_WINDOW_MS);
    recent.push(now);
    this.#strikes.set(key, recent);
    this.#log.debug({ peer: key, topic, reason }, 'rejected a gossip message');
    if (recent.length >= STRIKES) {
      this.#strikes.delete(key);
      void this.#running.ban(peer, BAN_MS);
    }
  }
}
