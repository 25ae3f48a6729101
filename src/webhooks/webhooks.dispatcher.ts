import type { WebhookConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { once } from '../shared/shutdown.js';
import type { RetryPolicy } from './webhooks.attempts.js';
import {
  claimDueDeliveries,
  claimOutboxEvents,
  enabledSubscriptions,
  hasClaimableDeliveries,
  hasUndispatchedEvents,
  loadClaimedDeliveries,
} from './webhooks.claims.repository.js';
import { insertDeliveries, type NewDeliveryRow } from './webhooks.repository.js';
import { createDispatchScheduler, type PassRequest } from './webhooks.scheduler.js';
import { createSendPool } from './webhooks.send-pool.js';
import { createWebhookSender, type WebhookSender } from './webhooks.sender.js';
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
/** How long past the request timeout a claimed delivery stays ours: enough to record the result. */
const LEASE_MARGIN_MS = 60_000;

/**
 * Delivers outbox events to webhooks, outside every request. The scheduler decides when a
 * pass runs; a pass fans the new events out into pending deliveries (one per subscribed
 * enabled webhook), then claims due deliveries up to the send pool's free slots and hands
 * them to it; the pool sends them and writes their results. Any number of dispatchers
 * (processes) can share a database: see webhooks.claims.repository.ts.
 */
export function createWebhookDispatcher(options: DispatcherOptions): WebhookDispatcher {
  const { database, signal, sender, retry, timeoutMs, concurrency, concurrencyPerEndpoint } = options;
  const { db } = database;
  const onError = options.onError ?? ((message, error) => console.error(`webhook dispatcher: ${message}:`, error instanceof Error ? error.message : error));

  const scheduler = createDispatchScheduler({
    pass: runPass,
    subscribe: (listener) => signal.subscribe(listener),
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    onError,
  });
  const pool = createSendPool({
    db,
    sender,
    retry,
    concurrency,
    concurrencyPerEndpoint,
    onSlotFreed: scheduler.wake,
    onRetryScheduled: scheduler.wakeAt,
    onError,
  });

  async function runPass({ fanOut, stopping }: PassRequest): Promise<void> {
    if (fanOut) await fanOutEvents(stopping);
    await claimAndSend(stopping);
  }

  async function fanOutEvents(stopping: AbortSignal): Promise<void> {
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
      if (fannedOut < FAN_OUT_BATCH || stopping.aborted) return;
    }
  }

  /** Fills the free slots; claims again while claims come back full (a capped webhook leaves room for others). */
  async function claimAndSend(stopping: AbortSignal): Promise<void> {
    for (;;) {
      const free = pool.freeSlots();
      if (free.total <= 0 || stopping.aborted) return;
      const now = Date.now();
      if (!(await hasClaimableDeliveries(db, new Date(now).toISOString()))) return;
      const ids = await claimDueDeliveries(db, {
        now: new Date(now).toISOString(),
        leaseUntil: new Date(now + timeoutMs + LEASE_MARGIN_MS).toISOString(),
        limit: free.total,
        perWebhookLimit: concurrencyPerEndpoint,
        freeSlots: free.perWebhook,
      });
      if (ids.length === 0) return;
      for (const delivery of await loadClaimedDeliveries(db, ids)) pool.send(delivery);
    }
  }

  return {
    start: scheduler.start,
    wake: scheduler.wakeForEvents,
    close: once(async () => {
      const lastPass = scheduler.close();
      pool.abort();
      await lastPass;
      await pool.close();
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
