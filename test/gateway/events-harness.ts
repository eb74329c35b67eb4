/**
 * What the AMQP and event-delivery suites share: a real RabbitMQ on loopback, a stand-in for a
 * node's event API, and consumers that collect what arrives. The broker-restart suite
 * (`broker-restart.alone.ts`) takes the shared broker down, so it runs alone, after the others.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp, { type ChannelModel } from 'amqplib';
import type { EventEnvelope } from '../../gateway/events/envelope.ts';
import { waitFor } from '../helpers.ts';

export const AMQP_URL = process.env.TILLID_TEST_AMQP_URL ?? 'amqp://127.0.0.1:5672';
export const MUNICIPALITY = '29189846';
export const PROVIDER = '11111111';
export const OTHER = '22222222';
export const CHAIN = 'tillid-test';

/** Stands in for a node's event API: GET /v1/events (never splits a height) and GET /v1/status. */
export class NodeEventsTestServer {
  readonly heights = new Map<number, Record<string, unknown>[]>();
  head = 0;
  down = false;
  delayMs = 0;
  #server: Server;
  url = '';
  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }
  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }
  close() {
    this.#server.closeAllConnections();
    this.#server.close();
  }
  /** Finalizes one more height carrying these events; returns their ids. */
  finalize(...events: Record<string, unknown>[]): string[] {
    const height = ++this.head;
    const list = events.map((e, n) => ({ ...e, id: `${height}-${n}`, height }));
    this.heights.set(height, list);
    return list.map((e) => e.id);
  }
  /** A payment decision on a contract between MUNICIPALITY and PROVIDER. */
  static payment(period: number) {
    return {
      type: 'payment.released',
      contract: 'c'.repeat(64),
      municipality: MUNICIPALITY,
      provider: PROVIDER,
      kle: '27.35.04',
      period,
      amount: 4_500_000,
      reason: 'conditions-met',
    };
  }
  async #handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.down) return send(503, { code: 'NOT_READY', message: 'down' });
    if (url.pathname === '/v1/status')
      return send(200, { chainId: CHAIN, height: this.head, finalizedHeight: this.head });
    if (url.pathname !== '/v1/events') return send(404, { code: 'NOT_FOUND', message: 'no route' });
    const after = Number(url.searchParams.get('after') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const events: Record<string, unknown>[] = [];
    let height = after;
    while (height < this.head) {
      const at = this.heights.get(height + 1) ?? [];
      if (events.length > 0 && events.length + at.length > limit) break;
      events.push(...at);
      height++;
      if (events.length >= limit) break;
    }
    send(200, { events, next: height, head: this.head });
  }
}

export async function connectBroker(): Promise<ChannelModel> {
  try {
    return await amqp.connect(AMQP_URL);
  } catch (e) {
    throw new Error(
      `RabbitMQ is not reachable at ${AMQP_URL} (${(e as Error).message}). These tests need a real broker: ` +
        'apt-get install -y rabbitmq-server && RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached ' +
        '(then wait for `rabbitmqctl await_startup`), or run .ci/run, which does both.',
    );
  }
}

export type Received = { id: string; body: string; envelope: EventEnvelope };

/** Consumes a queue into `sink` (acknowledging each message) until the returned function is called. */
export async function consume(
  broker: ChannelModel,
  queue: string,
  sink: Received[],
): Promise<() => Promise<void>> {
  const channel = await broker.createChannel();
  await channel.prefetch(500);
  await channel.consume(queue, (message) => {
    if (!message) return;
    const body = message.content.toString();
    sink.push({ id: String(message.properties.messageId), body, envelope: JSON.parse(body) });
    channel.ack(message);
  });
  return () => channel.close();
}

export async function collectUntil(
  broker: ChannelModel,
  queue: string,
  expected: readonly string[],
  timeoutMs: number,
  received: Received[] = [],
): Promise<Received[]> {
  const stop = await consume(broker, queue, received);
  try {
    await waitFor(async () => {
      const ids = new Set(received.map((r) => r.id));
      return expected.every((id) => ids.has(id)) ? true : undefined;
    }, timeoutMs);
    // Anything still in flight (a duplicate right behind the last expected id) is counted too.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await stop();
  }
  return received;
}

export function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'ignore', timeout: 60_000 });
}
