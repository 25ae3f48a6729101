import type { WebhookConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { once } from '../shared/shutdown.js';
import { attemptResultOf, recordAttemptResults, type AttemptResult, type RetryPolicy } from './webhooks.attempts.js';
import {
  claimDueDeliveries,
  claimOutboxEvents,
  enabledSubscriptions,
  hasClaimableDeliveries,
  hasUndispatchedEvents,
  insertDeliveries,
  loadClaimedDeliveries,
  releaseDeliveries,
  type ClaimedDelivery,
  type NewDeliveryRow,
} from './webhooks.repository.js';
import { createWebhookSender, eventBody, type SendOutcome, type WebhookSender } from './webhooks.sender.js';
import { targetPolicy, type HostResolver } from './webhooks.ssrf.js';

export interface DispatcherOptions {
  database: Database;
  signal: OutboxSignal;
  sender: WebhookSender;
  retry: RetryPolicy;
  timeoutMs: number;
  /** Requests in flight from this process, all webhooks together. */
  concurrency: number;
  /** Requests in flight from this process to one webhook. */
  concurrencyPerEndpoint: number;
  /** Safety net for work no notification announced (other processes, due retries, expired leases). */
  pollIntervalMs?: number;
  onError?: (message: string, error: unknown) => void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Look for work now (coalesced: many calls, one pass). */
  wake(): void;
  /** Stops taking work, abandons requests in flight (their deliveries are given back, to be sent after a restart), writes what finished. */
  close(): Promise<void>;
}

/** Outbox events fanned out per transaction (bounded, so SQLite's single connection is never held long). */
const FAN_OUT_BATCH = 200;
/** Attempt results written per transaction. */
const RECORD_BATCH = 200;
/** How long past the request timeout a claimed delivery stays ours: enough to record the result. */
const LEASE_MARGIN_MS = 60_000;

/**
 * Delivers outbox events to webhooks, outside every request. One pass: fan the new
 * events out into pending deliveries (one per subscribed enabled webhook), then lease
 * due deliveries up to the free concurrency (overall and per webhook, so a slow
 * endpoint only ever holds its own slots) and send them; results are written in
 * batches. Any number of dispatchers (processes) can share a database: events and
 * deliveries are claimed with single UPDATE … RETURNING statements.
 */
export function createWebhookDispatcher(options: DispatcherOptions): WebhookDispatcher {
  const { database, signal, sender, retry, timeoutMs, concurrency, concurrencyPerEndpoint } = options;
  const { db } = database;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const onError = options.onError ?? ((message, error) => console.error(`webhook dispatcher: ${message}:`, error instanceof Error ? error.message : error));
  const shutdown = new AbortController();

  const inFlight = new Map<number, number>();
  let inFlightTotal = 0;
  const sends = new Set<Promise<void>>();
  const results: AttemptResult[] = [];
  const released: number[] = [];

  let closed = false;
  let wakeQueued = false;
  /** Set when new outbox events may exist (a notification, the poll); a finished send only needs a claim. */
  let eventsMayWait = true;
  let passRunning: Promise<void> | null = null;
  let passAgain = false;
  let flushing: Promise<void> | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryTimerAt = Infinity;
  let unsubscribe: () => void = () => undefined;

  /** A notification or the poll: there may be new events (and other processes' work). */
  function wakeForEvents(): void {
    eventsMayWait = true;
    wake();
  }

  function wake(): void {
    if (closed || wakeQueued) return;
    wakeQueued = true;
    setImmediate(() => {
      wakeQueued = false;
      runPass();
    });
  }

  function runPass(): void {
    if (closed) return;
    if (passRunning) {
      passAgain = true;
      return;
    }
    passRunning = (async () => {
      do {
        passAgain = false;
        try {
          if (eventsMayWait) {
            eventsMayWait = false;
            await fanOut();
          }
          await claimAndSend();
        } catch (error) {
          eventsMayWait = true;
          onError('a dispatch pass failed (the next poll retries)', error);
          break;
        }
      } while (passAgain && !closed);
    })().finally(() => {
      passRunning = null;
    });
  }

  async function fanOut(): Promise<void> {
    for (;;) {
      if (!(await hasUndispatchedEvents(db))) return;
      const fannedOut = await db.transaction().execute(async (trx) => {
        const now = new Date().toISOString();
        const events = await claimOutboxEvents(trx, now, FAN_OUT_BATCH);
        if (events.length === 0) return 0;
        const subscriptions = (await enabledSubscriptions(trx)).map((webhook) => ({
          id: Number(webhook.id),
          events: new Set(JSON.parse(webhook.events) as string[]),
        }));
        const rows: NewDeliveryRow[] = [];
        for (const event of events) {
          for (const webhook of subscriptions) {
            if (!webhook.events.has(event.type)) continue;
            rows.push({ webhook_id: webhook.id, event_id: event.id, event_type: event.type, attempt: 1, created_at: now, next_attempt_at: now });
          }
        }
        await insertDeliveries(trx, rows);
        return events.length;
      });
      if (fannedOut < FAN_OUT_BATCH || closed) return;
    }
  }

  /** Fills the free slots; claims again while claims come back full (a capped webhook leaves room for others). */
  async function claimAndSend(): Promise<void> {
    for (;;) {
      const free = concurrency - inFlightTotal;
      if (free <= 0 || closed) return;
      const freeSlots = new Map<number, number>();
      for (const [webhookId, count] of inFlight) freeSlots.set(webhookId, Math.max(0, concurrencyPerEndpoint - count));
      const now = Date.now();
      if (!(await hasClaimableDeliveries(db, new Date(now).toISOString()))) return;
      const ids = await claimDueDeliveries(db, {
        now: new Date(now).toISOString(),
        leaseUntil: new Date(now + timeoutMs + LEASE_MARGIN_MS).toISOString(),
        limit: free,
        perWebhookLimit: concurrencyPerEndpoint,
        freeSlots,
      });
      if (ids.length === 0) return;
      for (const delivery of await loadClaimedDeliveries(db, ids)) startSend(delivery);
    }
  }

  function startSend(delivery: ClaimedDelivery): void {
    inFlight.set(delivery.webhook_id, (inFlight.get(delivery.webhook_id) ?? 0) + 1);
    inFlightTotal++;
    const attemptedAt = new Date();
    const send = attempt(delivery)
      .then((outcome) => {
        if (outcome.kind === 'aborted') released.push(delivery.id);
        else results.push(attemptResultOf(delivery, outcome, retry, attemptedAt));
      })
      .catch((error: unknown) => onError(`delivery ${delivery.id} failed unexpectedly`, error))
      .finally(() => {
        const left = (inFlight.get(delivery.webhook_id) ?? 1) - 1;
        if (left === 0) inFlight.delete(delivery.webhook_id);
        else inFlight.set(delivery.webhook_id, left);
        inFlightTotal--;
        sends.delete(send);
        scheduleFlush();
        wake();
      });
    sends.add(send);
  }

  function attempt(delivery: ClaimedDelivery): Promise<SendOutcome> {
    if (delivery.data === null || delivery.event_created_at === null) {
      return Promise.resolve({ kind: 'refused', error: 'Not sent: the event no longer exists' });
    }
    const body = eventBody(delivery.event_id, delivery.event_type, delivery.event_created_at, delivery.data);
    return sender.send({ url: delivery.url, eventId: delivery.event_id, body, secret: delivery.secret }, shutdown.signal);
  }

  function scheduleFlush(): void {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(flush)
      .catch((error: unknown) => onError('writing attempt results failed', error))
      .finally(() => {
        flushing = null;
        if (results.length > 0 || released.length > 0) scheduleFlush();
      });
  }

  async function flush(): Promise<void> {
    const batch = results.splice(0, RECORD_BATCH);
    const toRelease = released.splice(0);
    try {
      await recordAttemptResults(db, batch, new Date());
    } catch (error) {
      onError('recording a batch of attempts failed; recording them one by one', error);
      for (const result of batch) {
        await recordAttemptResults(db, [result], new Date()).catch((single: unknown) =>
          onError(`recording delivery ${result.delivery.id} failed (it is sent again when its lease ends)`, single),
        );
      }
    }
    await releaseDeliveries(db, toRelease).catch((error: unknown) => onError('giving back deliveries failed', error));
    for (const { record } of batch) if (record.next_attempt_at) wakeAt(Date.parse(record.next_attempt_at));
  }

  /** A due retry of ours wakes us at its time (other processes' are found by the poll). */
  function wakeAt(time: number): void {
    if (closed || time >= retryTimerAt) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimerAt = time;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      retryTimerAt = Infinity;
      wake();
    }, Math.max(0, time - Date.now()) + 5);
    retryTimer.unref();
  }

  return {
    start() {
      if (closed || pollTimer) return;
      unsubscribe = signal.subscribe(wakeForEvents);
      pollTimer = setInterval(wakeForEvents, pollIntervalMs);
      pollTimer.unref();
      wake();
    },
    wake: wakeForEvents,
    close: once(async () => {
      closed = true;
      unsubscribe();
      if (pollTimer) clearInterval(pollTimer);
      if (retryTimer) clearTimeout(retryTimer);
      shutdown.abort();
      await passRunning;
      await Promise.allSettled([...sends]);
      while (flushing || results.length > 0 || released.length > 0) {
        if (flushing) await flushing;
        else scheduleFlush();
      }
    }),
  };
}

export interface WebhookDeliveryOptions {
  database: Database;
  config: WebhookConfig;
  signal: OutboxSignal;
  resolveHost?: HostResolver;
  pollIntervalMs?: number;
  onError?: (message: string, error: unknown) => void;
}

/** The dispatcher with its own connection pool, started; `close()` stops both. */
export function startWebhookDispatcher(options: WebhookDeliveryOptions): WebhookDispatcher {
  const { config } = options;
  const sender = createWebhookSender({ timeoutMs: config.timeoutMs, policy: targetPolicy(config, options.resolveHost) });
  const dispatcher = createWebhookDispatcher({
    ...options,
    sender,
    retry: { maxAttempts: config.maxAttempts, backoffBaseMs: config.backoffBaseMs },
    timeoutMs: config.timeoutMs,
    concurrency: config.concurrency,
    concurrencyPerEndpoint: config.concurrencyPerEndpoint,
    pollIntervalMs: options.pollIntervalMs ?? config.pollIntervalMs,
  });
  dispatcher.start();
  return {
    start: () => dispatcher.start(),
    wake: () => dispatcher.wake(),
    close: once(async () => {
      await dispatcher.close();
      await sender.close();
    }),
  };
}
