/**
 * The event routes, as a fastify plugin the gateway's server registers:
 *
 *   app.register(eventRoutes, { feed: delivery.feed, chainId, webhooks: delivery.webhooks,
 *                               webhookStatus: () => delivery.status().webhooks });
 *
 * Every route needs `request.caller` (the gateway's authentication hook); without one, 401
 * AUTH_REQUIRED. A caller sees the events its organisation is an allowed receiver of, and events
 * for every member (`visible` changes that, e.g. to let an auditor see all).
 *
 *   GET    /v1/events/stream[?after=<height>]   Server-Sent Events; resume with Last-Event-ID
 *   POST   /v1/webhooks                         { url, types?, secret?, after? } → 201 (secret shown once)
 *   GET    /v1/webhooks                         the caller's subscriptions with delivery status
 *   DELETE /v1/webhooks/:id                     204
 *
 * SSE frames: `id: <event id>`, `event: <event type>`, `data: <envelope JSON>`. Without
 * Last-Event-ID or `after`, a stream starts at the node's finalized height (new events only). A
 * browser's EventSource resends Last-Event-ID on reconnect by itself, so a dashboard resumes without
 * gaps; duplicates cannot occur within one stream.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorHandler, useErrorSchema } from '../../node/api/errors.ts';
import type { Caller } from '../caller.ts';
import { GatewayError, gatewayStatusOf } from '../errors.ts';
import { backoffDelay, pause } from './channel.ts';
import { type CursorPosition, isAfter, positionAt } from './cursor.ts';
import type { WebhookStatus } from './delivery.ts';
import { type EventEnvelope, type EventRouting, envelopeOf, visibleTo } from './envelope.ts';
import { type ChainEvent, type NodeEventFeed, parseEventId } from './feed.ts';
import type { WebhookRegistry } from './webhooks.ts';

export interface EventRoutesOptions {
  readonly feed: NodeEventFeed;
  readonly chainId: string;
  /** Enables the /v1/webhooks routes. */
  readonly webhooks?: WebhookRegistry;
  /** Delivery status per subscription (`delivery.status().webhooks`), shown in GET /v1/webhooks. */
  readonly webhookStatus?: () => readonly WebhookStatus[];
  /** Which webhook URLs are acceptable; default any http(s) URL. Use it to refuse internal addresses. */
  readonly allowWebhookUrl?: (url: URL) => boolean;
  readonly visible?: (caller: Caller, envelope: EventEnvelope) => boolean;
  readonly route?: (event: ChainEvent) => EventRouting;
  /** How often a stream polls the node when it has caught up; default 500 ms. */
  readonly pollIntervalMs?: number;
  /** Comment line sent this often so proxies keep an idle stream open; default 15 s. */
  readonly heartbeatMs?: number;
  /** Open streams at most; default 200. Beyond it, 503 TOO_MANY_STREAMS. */
  readonly maxStreams?: number;
}

const error = { $ref: 'Error#' };

const subscription = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    cvr: { type: 'string' },
    url: { type: 'string' },
    types: { type: 'array', items: { type: 'string' } },
    after: { type: 'integer' },
    createdAt: { type: 'string' },
    secret: { type: 'string', description: 'the HMAC key; returned once, at creation' },
    status: {
      type: 'object',
      additionalProperties: true,
      properties: {
        position: { type: 'object', additionalProperties: true },
        lastAttempt: { type: 'object', additionalProperties: true },
        lastError: { type: 'string' },
      },
    },
  },
};

function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new GatewayError('AUTH_REQUIRED', 'authenticate with a token or a certificate');
  return request.caller;
}

export async function eventRoutes(app: FastifyInstance, options: EventRoutesOptions): Promise<void> {
  const visible = options.visible ?? ((caller: Caller, e: EventEnvelope) => visibleTo(caller.cvr, e));
  const maxStreams = options.maxStreams ?? 200;
  let streams = 0;
  // Open streams end when the server closes, rather than holding app.close() up.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  // The gateway's error answers; set here too so the plugin answers the same on its own (tests).
  useErrorSchema(app);
  app.setErrorHandler(errorHandler({ statusOf: gatewayStatusOf, server: 'the gateway' }));

  app.get<{ Querystring: { after?: string }; Headers: { 'last-event-id'?: string } }>(
    '/v1/events/stream',
    {
      schema: {
        summary: 'Finalized events as Server-Sent Events (dashboards); resume with Last-Event-ID',
        tags: ['events'],
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'string', pattern: '^\\d{1,15}$', description: 'start after this height' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          400: error,
          401: error,
          503: error,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const lastEventId = request.headers['last-event-id'];
      const resumeAt = lastEventId === undefined ? undefined : parseEventId(lastEventId);
      if (lastEventId !== undefined && !resumeAt)
        throw new GatewayError('BAD_REQUEST', 'Last-Event-ID must be an event id <height>-<n>');
      if (request.method === 'HEAD') return headAnswer(reply);
      let position: CursorPosition;
      if (lastEventId !== undefined && resumeAt) {
        position = positionAt({ id: lastEventId, height: resumeAt.height });
      } else if (request.query.after !== undefined) {
        position = { after: Number(request.query.after) };
      } else {
        try {
          position = { after: await options.feed.finalizedHeight() };
        } catch {
          throw new GatewayError('NODE_UNAVAILABLE', 'no node answers; try again shortly');
        }
      }
      if (streams >= maxStreams) {
        throw new GatewayError('TOO_MANY_STREAMS', `at most ${maxStreams} event streams are open`);
      }
      streams++;
      reply.hijack();
      const raw = reply.raw;
      const closed = new AbortController();
      raw.on('close', () => closed.abort());
      const signal = AbortSignal.any([closed.signal, closing.signal]);
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
      try {
        await write(raw, 'retry: 2000\n\n', signal);
        await stream(raw, caller, position, signal);
      } finally {
        clearInterval(heartbeat);
        streams--;
        raw.end();
      }
    },
  );

  /**
   * HEAD (which fastify answers with the GET route) asks what a GET would answer: the stream's
   * status and headers, at once and without a body. It opens no stream and holds no slot.
   */
  function headAnswer(reply: FastifyReply) {
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .type('text/event-stream; charset=utf-8')
      .send();
  }

  async function stream(raw: ServerResponse, caller: Caller, start: CursorPosition, signal: AbortSignal) {
    let position = start;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const page = await options.feed.page(position.after);
        failures = 0;
        for (const event of page.events) {
          if (!isAfter(position, event)) continue;
          const envelope = envelopeOf(event, options.chainId, options.route);
          if (visible(caller, envelope)) {
            await write(
              raw,
              `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(envelope)}\n\n`,
              signal,
            );
          }
          position = positionAt(event);
        }
        const moved = page.next > position.after;
        if (moved) position = { after: page.next };
        else await pause(options.pollIntervalMs ?? 500, signal);
      } catch {
        if (signal.aborted) return;
        failures++;
        await pause(backoffDelay(failures, { initialMs: 500, maxMs: 10_000 }), signal);
      }
    }
  }

  if (!options.webhooks) return;
  const registry = options.webhooks;
  const allowUrl = options.allowWebhookUrl ?? (() => true);
  const statusOf = (id: string) => options.webhookStatus?.().find((s) => s.id === id);

  app.post<{ Body: { url: string; types?: string[]; secret?: string; after?: number } }>(
    '/v1/webhooks',
    {
      schema: {
        summary: "Subscribe a webhook to the caller's events; deliveries are signed with the returned secret",
        tags: ['events'],
        body: {
          type: 'object',
          properties: {
            url: { type: 'string', maxLength: 2048 },
            types: {
              type: 'array',
              maxItems: 64,
              items: { type: 'string', pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$' },
            },
            secret: { type: 'string', minLength: 32, maxLength: 256 },
            after: { type: 'integer', minimum: 0, description: 'start after this height; default: now' },
          },
          required: ['url'],
          additionalProperties: false,
        },
        response: { 201: subscription, 400: error, 401: error, 503: error },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      let url: URL;
      try {
        url = new URL(request.body.url);
      } catch {
        throw new GatewayError('WEBHOOK_URL_INVALID', 'url must be an absolute http(s) URL');
      }
      if (
        (url.protocol !== 'https:' && url.protocol !== 'http:') ||
        url.username ||
        url.password ||
        !allowUrl(url)
      ) {
        throw new GatewayError('WEBHOOK_URL_INVALID', 'url must be an http(s) URL this gateway may call');
      }
      let after = request.body.after;
      if (after === undefined) {
        try {
          after = await options.feed.finalizedHeight();
        } catch {
          throw new GatewayError('NODE_UNAVAILABLE', 'no node answers; try again shortly');
        }
      }
      const created = await registry.add({
        cvr: caller.cvr,
        url: url.toString(),
        after,
        ...(request.body.secret ? { secret: request.body.secret } : {}),
        ...(request.body.types ? { types: request.body.types } : {}),
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/webhooks',
    {
      schema: {
        summary:
          "The caller's webhook subscriptions and their delivery status (secrets are never shown again)",
        tags: ['events'],
        response: {
          200: { type: 'object', properties: { webhooks: { type: 'array', items: subscription } } },
          401: error,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      return {
        webhooks: registry.list(caller.cvr).map(({ secret: _secret, ...s }) => {
          const status = statusOf(s.id);
          return { ...s, ...(status ? { status } : {}) };
        }),
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      schema: {
        summary: 'Remove a webhook subscription',
        tags: ['events'],
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
        response: { 204: { type: 'null' }, 401: error, 404: error },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const existing = registry.get(request.params.id);
      if (!existing || existing.cvr !== caller.cvr) {
        throw new GatewayError('WEBHOOK_NOT_FOUND', 'no such webhook subscription');
      }
      await registry.remove(existing.id);
      return reply.code(204).send();
    },
  );
}

/** Writes to an SSE response, waiting for the socket to drain when its buffer is full. */
async function write(raw: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  if (signal.aborted || raw.writableEnded) return;
  if (!raw.write(text)) await once(raw, 'drain', { signal }).catch(() => {});
}
