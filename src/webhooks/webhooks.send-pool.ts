import type { Db } from '../db/database.js';
import { attemptResultOf, recordAttemptResults, type AttemptResult, type RetryPolicy } from './webhooks.attempts.js';
import { releaseDeliveries, type ClaimedDelivery } from './webhooks.claims.repository.js';
import { eventBody, type SendOutcome, type WebhookSender } from './webhooks.sender.js';

export interface SendPoolOptions {
  db: Db;
  sender: WebhookSender;
  retry: RetryPolicy;
  /** Requests in flight from this process, all webhooks together. */
  concurrency: number;
  /** Requests in flight from this process to one webhook. */
  concurrencyPerEndpoint: number;
  /** A send ended: its slot is free again. */
  onSlotFreed: () => void;
  /** A recorded attempt is retried at `time` (ms since the epoch). */
  onRetryScheduled: (time: number) => void;
  onError: (message: string, error: unknown) => void;
}

/** What may be claimed now: `total` in all, and for the webhooks being sent to, their free slots (id -> slots). */
export interface FreeSlots {
  total: number;
  perWebhook: Map<number, number>;
}

export interface SendPool {
  freeSlots(): FreeSlots;
  /** Sends a claimed delivery in one of the free slots; its result is written with the next batch. */
  send(delivery: ClaimedDelivery): void;
  /** Ends the requests in flight: their deliveries are given back, to be sent after a restart. */
  abort(): void;
  /** Aborts, waits for every send to end, and writes every result. */
  close(): Promise<void>;
}

/** Attempt results written per transaction. */
const RECORD_BATCH = 200;

/**
 * Sends claimed deliveries within the concurrency limits (overall and per webhook, so a
 * slow endpoint only ever holds its own slots) and writes their results in batches: the
 * results of sends that end together are written in one transaction on the next turn of
 * the event loop.
 */
export function createSendPool(options: SendPoolOptions): SendPool {
  const { db, sender, retry, concurrency, concurrencyPerEndpoint, onSlotFreed, onRetryScheduled, onError } = options;
  const shutdown = new AbortController();
  const inFlight = new Map<number, number>();
  let inFlightTotal = 0;
  const sends = new Set<Promise<void>>();
  const results: AttemptResult[] = [];
  const released: number[] = [];
  let flushing: Promise<void> | null = null;

  function send(delivery: ClaimedDelivery): void {
    inFlight.set(delivery.webhook_id, (inFlight.get(delivery.webhook_id) ?? 0) + 1);
    inFlightTotal++;
    const attemptedAt = new Date();
    const sent = attempt(delivery)
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
        sends.delete(sent);
        scheduleFlush();
        onSlotFreed();
      });
    sends.add(sent);
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
    for (const { record } of batch) if (record.next_attempt_at) onRetryScheduled(Date.parse(record.next_attempt_at));
  }

  return {
    freeSlots() {
      const perWebhook = new Map<number, number>();
      for (const [webhookId, count] of inFlight) perWebhook.set(webhookId, Math.max(0, concurrencyPerEndpoint - count));
      return { total: concurrency - inFlightTotal, perWebhook };
    },
    send,
    abort: () => shutdown.abort(),
    async close() {
      shutdown.abort();
      await Promise.allSettled([...sends]);
      while (flushing || results.length > 0 || released.length > 0) {
        if (flushing) await flushing;
        else scheduleFlush();
      }
    },
  };
}
