/**
 * Signed webhooks. A subscription belongs to one organisation (CVR) and receives the events it may
 * see (allowed receiver, or events for every member), optionally only some types. Each event is one
 * POST of its envelope (JSON), signed:
 *
 *   x-tillid-signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>." || body)>
 *   x-tillid-event-id:  <height>-<n>      (the same on every retry: recognise duplicates by it)
 *   x-tillid-delivery-attempt: <n>
 *
 * A 2xx confirms the event; anything else (or no answer within the timeout) is retried with
 * exponential backoff, forever and in order — a subscriber's cursor never skips an event. The
 * timestamp is signed so a receiver can refuse replays of old deliveries (`verifyWebhookSignature`).
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileDurably } from '../durable-file.ts';
import { type Backoff, backoffDelay, pause } from './channel.ts';
import type { EventEnvelope } from './envelope.ts';

export interface WebhookSubscription {
  readonly id: string;
  /** The subscribing organisation. */
  readonly cvr: string;
  readonly url: string;
  /** HMAC key; shown to the subscriber once, at creation, and never logged. */
  readonly secret: string;
  /** Event types (e.g. `payment.released`); absent means all. */
  readonly types?: readonly string[];
  /** The height the subscription starts after. */
  readonly after: number;
  readonly createdAt: string;
}

export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Checks a delivery's signature header against the raw body. Refuses a timestamp further than
 * `toleranceMs` (default 5 minutes) from `now`, so a captured delivery cannot be replayed later.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  options: { toleranceMs?: number; now?: number } = {},
): boolean {
  const m = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const timestamp = Number(m[1]);
  if (Math.abs((options.now ?? Date.now()) - timestamp) > (options.toleranceMs ?? 300_000)) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[2] as string, 'hex'));
}

/** Whether a subscription takes this event. */
export function wants(subscription: WebhookSubscription, e: EventEnvelope): boolean {
  const { allowedReceivers } = e.envelope;
  if (allowedReceivers.length > 0 && !allowedReceivers.includes(subscription.cvr)) return false;
  return !subscription.types || subscription.types.includes(e.event.type);
}

export interface WebhookAttempt {
  readonly attempt: number;
  readonly status?: number;
  readonly error?: string;
}

/**
 * POSTs one envelope until the receiver answers 2xx; resolves then. Rejects only when `signal`
 * aborts (the gateway stops): the event stays undelivered and the cursor where it was.
 */
export async function deliverWebhook(
  subscription: WebhookSubscription,
  e: EventEnvelope,
  options: {
    signal: AbortSignal;
    backoff?: Backoff;
    timeoutMs?: number;
    onAttempt?: (a: WebhookAttempt) => void;
  },
): Promise<void> {
  const body = JSON.stringify(e);
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) throw new Error('stopped');
    let outcome: WebhookAttempt;
    try {
      const response = await fetch(subscription.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tillid-gateway',
          'x-tillid-signature': signWebhook(subscription.secret, Date.now(), body),
          'x-tillid-event-id': e.envelope.eventId,
          'x-tillid-event-type': e.event.type,
          'x-tillid-delivery-attempt': String(attempt),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)]),
      });
      await response.body?.cancel();
      outcome = { attempt, status: response.status };
      if (response.ok) {
        options.onAttempt?.(outcome);
        return;
      }
    } catch (err) {
      outcome = { attempt, error: (err as Error).message };
    }
    options.onAttempt?.(outcome);
    await pause(backoffDelay(attempt, options.backoff), options.signal);
  }
}

/**
 * The subscriptions, kept in one JSON file (mode 600, written atomically and durably). It holds the
 * secrets: keep it on the gateway's private volume. Emits `added` and `removed`.
 */
export class WebhookRegistry extends EventEmitter {
  readonly file: string;
  #subscriptions = new Map<string, WebhookSubscription>();

  private constructor(file: string) {
    super();
    this.file = file;
  }

  static async open(file: string): Promise<WebhookRegistry> {
    const registry = new WebhookRegistry(file);
    try {
      const list = JSON.parse(await readFile(file, 'utf8')) as WebhookSubscription[];
      for (const s of list) registry.#subscriptions.set(s.id, s);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return registry;
  }

  list(cvr?: string): WebhookSubscription[] {
    return [...this.#subscriptions.values()].filter((s) => cvr === undefined || s.cvr === cvr);
  }

  get(id: string): WebhookSubscription | undefined {
    return this.#subscriptions.get(id);
  }

  async add(input: {
    cvr: string;
    url: string;
    after: number;
    secret?: string;
    types?: readonly string[];
  }): Promise<WebhookSubscription> {
    const subscription: WebhookSubscription = {
      id: randomUUID(),
      cvr: input.cvr,
      url: input.url,
      secret: input.secret ?? randomBytes(32).toString('base64url'),
      ...(input.types ? { types: [...input.types] } : {}),
      after: input.after,
      createdAt: new Date().toISOString(),
    };
    this.#subscriptions.set(subscription.id, subscription);
    await this.#save();
    this.emit('added', subscription);
    return subscription;
  }

  async remove(id: string): Promise<boolean> {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) return false;
    this.#subscriptions.delete(id);
    await this.#save();
    this.emit('removed', subscription);
    return true;
  }

  #saving: Promise<void> = Promise.resolve();

  /** Saves run one after another, each writing the list as it is then, so the last one wins. */
  #save(): Promise<void> {
    const next = this.#saving.then(() => this.#write());
    this.#saving = next.catch(() => {});
    return next;
  }

  async #write(): Promise<void> {
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurably(this.file, JSON.stringify(this.list(), null, 1), dir);
  }
}
