/**
 * The gateway's Prometheus metrics on `GET /metrics` (public, like the nodes' own; no CVR, caller
 * or other personal data in any label). One self-contained plugin: it observes requests through
 * fastify hooks, times submissions and finality waits by wrapping the router's `submit` and the
 * watcher's `wait` on this gateway's own instances, and reads node health and event-channel
 * positions once a second. The alert rules in deploy/monitoring/alerts.yml use these names.
 *
 *   tillid_gateway_requests_total{method,route,status}      requests by route template and status
 *   tillid_gateway_request_duration_seconds{method,route}
 *   tillid_gateway_auth_failures_total{kind,code}           kind: authentication (401) | authorisation (403)
 *   tillid_gateway_submissions_total{outcome}               admitted, or the error code
 *   tillid_gateway_finality_wait_seconds{outcome}           finalized | rejected | FINALITY_TIMEOUT | …
 *   tillid_gateway_node_healthy{node}                       1/0 per node URL
 *   tillid_gateway_node_failovers_total{node}               healthy → unhealthy transitions seen
 *   tillid_gateway_event_position{channel}                  height each channel has delivered and confirmed
 *   tillid_gateway_event_lag_blocks{channel}                chain head − position
 *   tillid_gateway_event_lag_seconds{channel}               time since the channel was last at the head
 *   tillid_gateway_event_consecutive_failures{channel}      failed delivery attempts since the last success
 *   tillid_gateway_webhook_failed_attempts_total{channel}   webhook attempts answered non-2xx or not at all
 *   tillid_gateway_unverified_answers_total{node}           answers refused because they did not verify
 *                                                           (proofs/checker.ts; with `genesisFile` only)
 *   tillid_gateway_amqp_confirmed_events_total              heights the broker confirmed (AMQP cursor advance)
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { answeredCode } from '../node/api/errors.ts';
import { counter, gauge } from '../node/api/metrics.ts';
import type { GatewayComponents } from './components.ts';
import type { EventDelivery } from './events/delivery.ts';
import type { TransactionOutcome } from './finality.ts';

const SAMPLE_MS = 1000;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = counter(
    this.registry,
    'tillid_gateway_requests_total',
    'HTTP requests by route template and status',
    ['method', 'route', 'status'] as const,
  );
  readonly duration = new Histogram({
    name: 'tillid_gateway_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly authFailures = counter(
    this.registry,
    'tillid_gateway_auth_failures_total',
    'Refused requests: kind authentication (401) or authorisation (403), by error code',
    ['kind', 'code'] as const,
  );
  readonly submissions = counter(
    this.registry,
    'tillid_gateway_submissions_total',
    'Transactions submitted to the nodes, by outcome (admitted or the error code)',
    ['outcome'] as const,
  );
  readonly finalityWaits = new Histogram({
    name: 'tillid_gateway_finality_wait_seconds',
    help: 'Time callers waited for a transaction to become final, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly nodeHealthy = gauge(
    this.registry,
    'tillid_gateway_node_healthy',
    'Whether the gateway considers the node healthy (1) or routes around it (0)',
    ['node'] as const,
  );
  readonly failovers = counter(
    this.registry,
    'tillid_gateway_node_failovers_total',
    'Times a node went from healthy to unhealthy (sampled each second); requests fail over to the next node',
    ['node'] as const,
  );
  readonly eventPosition = gauge(
    this.registry,
    'tillid_gateway_event_position',
    'Height up to which the channel has delivered and had confirmed every event',
    ['channel'] as const,
  );
  readonly eventLagBlocks = gauge(
    this.registry,
    'tillid_gateway_event_lag_blocks',
    "Blocks between the chain's head and the channel's position",
    ['channel'] as const,
  );
  readonly eventLagSeconds = gauge(
    this.registry,
    'tillid_gateway_event_lag_seconds',
    'Seconds since the channel was last caught up with the head (0 while it is)',
    ['channel'] as const,
  );
  readonly eventFailures = gauge(
    this.registry,
    'tillid_gateway_event_consecutive_failures',
    'Failed delivery attempts of the channel since its last success',
    ['channel'] as const,
  );
  readonly webhookFailures = counter(
    this.registry,
    'tillid_gateway_webhook_failed_attempts_total',
    'Webhook delivery attempts answered with a non-2xx status or not at all (sampled each second)',
    ['channel'] as const,
  );
  readonly amqpConfirmed = counter(
    this.registry,
    'tillid_gateway_amqp_confirmed_events_total',
    'Heights whose events the AMQP broker confirmed (publisher confirms; the cursor moves only then)',
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tillid_gateway_' });
  }
}

const outcomeOf = (e: unknown): string => (e as { code?: string }).code ?? 'ERROR';

/**
 * Registers `/metrics` and the request hooks. `watchEvents` hands it the running event channels,
 * which are then sampled for positions and lag. Returns the metrics (for tests).
 */
export function registerMetrics(
  app: FastifyInstance,
  c: GatewayComponents,
): GatewayMetrics & { watchEvents(delivery: Pick<EventDelivery, 'status'>): void } {
  const m = new GatewayMetrics();
  let delivery: Pick<EventDelivery, 'status'> | undefined;

  app.addHook('onResponse', async (request, reply) => {
    // Route templates (never raw URLs, which carry ids) keep the label set small.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const status = reply.statusCode;
    m.requests.inc({ method: request.method, route, status: String(status) });
    m.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    if (status === 401 || status === 403)
      m.authFailures.inc({
        kind: status === 401 ? 'authentication' : 'authorisation',
        code: answeredCode(request) ?? 'UNKNOWN',
      });
  });

  const submit = c.router.submit.bind(c.router);
  c.router.submit = async (cvr, tx) => {
    try {
      const hash = await submit(cvr, tx);
      m.submissions.inc({ outcome: 'admitted' });
      return hash;
    } catch (e) {
      m.submissions.inc({ outcome: outcomeOf(e) });
      throw e;
    }
  };
  const wait = c.finality.wait.bind(c.finality);
  c.finality.wait = async (cvr, hash, timeoutMs): Promise<TransactionOutcome> => {
    const end = m.finalityWaits.startTimer();
    try {
      const outcome = await wait(cvr, hash, timeoutMs);
      end({ outcome: outcome.status });
      return outcome;
    } catch (e) {
      end({ outcome: outcomeOf(e) });
      throw e;
    }
  };

  const wasHealthy = new Map<string, boolean>();
  const caughtUpAt = new Map<string, number>();
  const lastAttempt = new Map<string, unknown>();
  let amqpPosition: number | undefined;
  const sample = () => {
    const health = c.router.health();
    for (const n of health) {
      m.nodeHealthy.set({ node: n.url }, n.healthy ? 1 : 0);
      if (wasHealthy.get(n.url) === true && !n.healthy) m.failovers.inc({ node: n.url });
      wasHealthy.set(n.url, n.healthy);
    }
    if (!delivery) return;
    const head = Math.max(0, ...health.map((n) => n.height ?? 0));
    const now = Date.now();
    const status = delivery.status();
    const channels = [
      ...(status.amqp
        ? [{ channel: 'amqp', after: status.amqp.position.after, failures: status.amqp.failures }]
        : []),
      ...status.webhooks.map((w) => ({
        channel: `webhook:${w.id}`,
        after: w.position?.after ?? 0,
        failures:
          w.lastAttempt && !(w.lastAttempt.status && w.lastAttempt.status < 300) ? w.lastAttempt.attempt : 0,
      })),
    ];
    for (const ch of channels) {
      const lag = Math.max(0, head - ch.after);
      if (lag === 0 || !caughtUpAt.has(ch.channel)) caughtUpAt.set(ch.channel, now);
      m.eventPosition.set({ channel: ch.channel }, ch.after);
      m.eventLagBlocks.set({ channel: ch.channel }, lag);
      m.eventLagSeconds.set(
        { channel: ch.channel },
        lag === 0 ? 0 : (now - (caughtUpAt.get(ch.channel) as number)) / 1000,
      );
      m.eventFailures.set({ channel: ch.channel }, ch.failures);
    }
    for (const w of status.webhooks) {
      const a = w.lastAttempt;
      if (!a || lastAttempt.get(w.id) === a) continue;
      lastAttempt.set(w.id, a);
      if (a.status === undefined || a.status >= 300) m.webhookFailures.inc({ channel: `webhook:${w.id}` });
    }
    if (status.amqp) {
      const after = status.amqp.position.after;
      if (amqpPosition !== undefined && after > amqpPosition) m.amqpConfirmed.inc(after - amqpPosition);
      amqpPosition = after;
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  app.get(
    '/metrics',
    { schema: { hide: true }, config: { access: { public: true } } },
    async (_request, reply) => {
      sample();
      // The proof checker keeps its own registry (it exists only with a trusted genesis).
      const proofs = c.router.proofs ? `${await c.router.proofs.registry.metrics()}` : '';
      return reply.type(m.registry.contentType).send(`${await m.registry.metrics()}${proofs}`);
    },
  );
  return Object.assign(m, {
    watchEvents: (d: Pick<EventDelivery, 'status'>) => {
      delivery = d;
    },
  });
}
