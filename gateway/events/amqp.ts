/**
 * Event delivery to RabbitMQ over AMQP 0-9-1, the way the municipal event distributor works: the
 * gateway publishes to a durable topic exchange; each receiving organisation consumes its own
 * durable queue (its "dueslag"), which receives exactly the messages that name it as an allowed
 * receiver, plus those addressed to every member.
 *
 * Routing key `cvr.<receiver>.<event type>`, with every further allowed receiver in the `CC` header
 * (RabbitMQ's sender-selected distribution), so one publish reaches each receiver's queue once; an
 * event for every member goes out as `all.<event type>`. A receiver's queue binds `cvr.<its CVR>.#`
 * and `all.#` (narrow the first to `cvr.<CVR>.payment.#` to take only some types). Messages are
 * persistent, published on a confirm channel; the channel's cursor moves only after the broker
 * confirmed them, so neither a gateway crash nor a broker restart loses one. Unroutable messages go
 * to the alternate exchange `<exchange>.unrouted` and its queue rather than vanish.
 */
import { once } from 'node:events';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { EventEnvelope } from './envelope.ts';

export interface AmqpTopology {
  /** Durable topic exchange; default `tillid.events`. */
  readonly exchange?: string;
  /** Receiver queue name = prefix + CVR; default `tillid.dueslag.`. */
  readonly queuePrefix?: string;
}

export interface AmqpDeliveryOptions extends AmqpTopology {
  /** e.g. `amqp://user:password@127.0.0.1:5672` or `amqps://…` (TLS, as the distributor requires). */
  readonly url: string;
  /**
   * CVRs whose queues exist from the start. Queues of other allowed receivers are declared when an
   * event first names them, before it is published, so no event finds a missing queue.
   */
  readonly receivers?: readonly string[];
  /** Longest wait for the broker's confirms of one page; default 15 s. */
  readonly confirmTimeoutMs?: number;
}

export const DEFAULT_EXCHANGE = 'tillid.events';
export const DEFAULT_QUEUE_PREFIX = 'tillid.dueslag.';

const topologyOf = (t: AmqpTopology) => ({
  exchange: t.exchange ?? DEFAULT_EXCHANGE,
  queuePrefix: t.queuePrefix ?? DEFAULT_QUEUE_PREFIX,
});

/** Routing-key segments must not contain dots; event types do, and that suits topic patterns. */
export const routingKey = (receiver: string | 'all', messageType: string): string =>
  receiver === 'all' ? `all.${messageType}` : `cvr.${receiver}.${messageType}`;

/** Declares the exchange, its alternate exchange and the unrouted queue (idempotent). */
export async function declareExchange(
  channel: Pick<ConfirmChannel, 'assertExchange' | 'assertQueue' | 'bindQueue'>,
  topology: AmqpTopology = {},
): Promise<void> {
  const { exchange } = topologyOf(topology);
  await channel.assertExchange(`${exchange}.unrouted`, 'fanout', { durable: true });
  await channel.assertQueue(`${exchange}.unrouted`, { durable: true });
  await channel.bindQueue(`${exchange}.unrouted`, `${exchange}.unrouted`, '');
  await channel.assertExchange(exchange, 'topic', {
    durable: true,
    alternateExchange: `${exchange}.unrouted`,
  });
}

/**
 * Declares a receiver's durable queue and its bindings (idempotent); returns the queue name. A
 * receiving system can call this itself, with its own connection, before consuming.
 */
export async function declareReceiverQueue(
  channel: Pick<ConfirmChannel, 'assertExchange' | 'assertQueue' | 'bindQueue'>,
  cvr: string,
  topology: AmqpTopology = {},
): Promise<string> {
  if (!/^\d{8}$/.test(cvr)) throw new Error(`not a CVR: ${cvr}`);
  const { exchange, queuePrefix } = topologyOf(topology);
  await declareExchange(channel, topology);
  const queue = `${queuePrefix}${cvr}`;
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, `cvr.${cvr}.#`);
  await channel.bindQueue(queue, exchange, 'all.#');
  return queue;
}

/** Publishes envelopes with publisher confirms; reconnects on the next call after a failure. */
export class AmqpEventPublisher {
  readonly #options: AmqpDeliveryOptions;
  readonly #topology: { exchange: string; queuePrefix: string };
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #declared = new Set<string>();

  constructor(options: AmqpDeliveryOptions) {
    this.#options = options;
    this.#topology = topologyOf(options);
  }

  async #open(): Promise<ConfirmChannel> {
    if (this.#channel) return this.#channel;
    const connection = await amqp.connect(this.#options.url, {
      clientProperties: { connection_name: 'tillid-gateway' },
    });
    const forget = () => {
      if (this.#connection === connection) {
        this.#connection = undefined;
        this.#channel = undefined;
      }
    };
    // Without listeners an 'error' would crash the process; the next publish reconnects instead.
    connection.on('error', forget);
    connection.on('close', forget);
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', forget);
      channel.on('close', forget);
      await declareExchange(channel, this.#topology);
      this.#declared = new Set();
      for (const cvr of this.#options.receivers ?? []) {
        await declareReceiverQueue(channel, cvr, this.#topology);
        this.#declared.add(cvr);
      }
      this.#connection = connection;
      this.#channel = channel;
      return channel;
    } catch (e) {
      await connection.close().catch(() => {});
      throw e;
    }
  }

  /** Publishes every envelope and resolves once the broker confirmed all of them. */
  async publish(envelopes: readonly EventEnvelope[]): Promise<void> {
    const channel = await this.#open();
    try {
      for (const e of envelopes) {
        for (const cvr of e.envelope.allowedReceivers) {
          if (this.#declared.has(cvr)) continue;
          await declareReceiverQueue(channel, cvr, this.#topology);
          this.#declared.add(cvr);
        }
        const [first, ...others] = e.envelope.allowedReceivers;
        const type = e.envelope.messageType;
        const accepted = channel.publish(
          this.#topology.exchange,
          routingKey(first ?? 'all', type),
          Buffer.from(JSON.stringify(e)),
          {
            persistent: true,
            contentType: 'application/json',
            messageId: e.envelope.eventId,
            type,
            appId: 'tillid-gateway',
            headers: {
              ...(others.length > 0 ? { CC: others.map((cvr) => routingKey(cvr, type)) } : {}),
              'tillid-event-id': e.envelope.eventId,
              'tillid-allowed-receivers': e.envelope.allowedReceivers.join(','),
              ...(e.envelope.responsibleAuthority
                ? { 'tillid-responsible-authority': e.envelope.responsibleAuthority }
                : {}),
              ...(e.envelope.kle ? { 'tillid-kle': e.envelope.kle } : {}),
            },
          },
        );
        if (!accepted) await once(channel, 'drain');
      }
      await withTimeout(channel.waitForConfirms(), this.#options.confirmTimeoutMs ?? 15_000);
    } catch (e) {
      // A nack, a timeout or a closed channel: start over on a fresh connection next time.
      await this.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#channel = undefined;
    await connection?.close().catch(() => {});
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no broker confirm within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
