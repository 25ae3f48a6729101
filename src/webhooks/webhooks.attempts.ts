import type { Db } from '../db/database.js';
import {
  disableWebhook,
  disableWebhookFailingSince,
  enabledWebhookIds,
  failPendingDeliveries,
  insertDeliveries,
  recordAttempts,
  recordWebhookOutcomes,
  type AttemptRecord,
  type DeliveryOutcomeSummary,
} from './webhooks.repository.js';
import { nextDelayMs } from './webhooks.retry.js';
import type { SendOutcome } from './webhooks.sender.js';

// What one attempt's outcome means (success, retry when, disable) and how a batch of
// them is written: the attempt rows, the retries, and the webhooks' health.

/** A webhook whose attempts have all failed for this long is disabled. */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 60 * 60 * 1000;

export interface AttemptedDelivery {
  id: number;
  webhook_id: number;
  event_id: string;
  event_type: string;
  attempt: number;
}

export interface AttemptResult {
  delivery: AttemptedDelivery;
  record: AttemptRecord;
  /** Set when the outcome disables the webhook (410 Gone). */
  disableReason: string | null;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
}

type Attempted = Exclude<SendOutcome, { kind: 'aborted' }>;

/** The log record of an attempt; `retry` false for attempts that are never retried (the test call). */
export function attemptResultOf(
  delivery: AttemptedDelivery,
  outcome: Attempted,
  policy: RetryPolicy,
  attemptedAt: Date,
  retry = true,
): AttemptResult {
  const base = { response_status: null, response_time_ms: null, response_body: null, error: null, attempted_at: attemptedAt.toISOString() };
  const retryOrFail = (record: Omit<AttemptRecord, 'status' | 'next_attempt_at'>, requestedDelayMs: number | null): AttemptResult => {
    if (!retry || delivery.attempt >= policy.maxAttempts) return { delivery, record: { ...record, status: 'failed', next_attempt_at: null }, disableReason: null };
    const next = new Date(attemptedAt.getTime() + nextDelayMs(delivery.attempt, policy.backoffBaseMs, requestedDelayMs));
    return { delivery, record: { ...record, status: 'retrying', next_attempt_at: next.toISOString() }, disableReason: null };
  };

  switch (outcome.kind) {
    case 'refused':
      return { delivery, record: { ...base, status: 'failed', error: outcome.error, next_attempt_at: null }, disableReason: null };
    case 'network':
      return retryOrFail({ ...base, response_time_ms: outcome.responseTimeMs, error: outcome.error }, null);
    case 'response': {
      const answered = {
        ...base,
        response_status: outcome.statusCode,
        response_time_ms: outcome.responseTimeMs,
        response_body: outcome.responseBody,
      };
      const status = outcome.statusCode;
      if (status >= 200 && status < 300) return { delivery, record: { ...answered, status: 'succeeded', next_attempt_at: null }, disableReason: null };
      if (status === 410) {
        return {
          delivery,
          record: { ...answered, status: 'failed', error: 'HTTP 410 Gone: the webhook was disabled', next_attempt_at: null },
          disableReason: `The endpoint answered 410 Gone at ${base.attempted_at}. Enable the webhook again to resume deliveries.`,
        };
      }
      const error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`;
      return retryOrFail({ ...answered, error }, outcome.retryAfterMs);
    }
  }
}

/**
 * Writes a batch of attempt results in one transaction: each attempt's row, a pending row
 * for each retry, and per webhook its last delivery, its failing run, and whether it is
 * now disabled (410, or 5 days of failures) — which also ends its pending deliveries.
 */
export async function recordAttemptResults(db: Db, results: AttemptResult[], now: Date): Promise<void> {
  if (results.length === 0) return;
  const nowIso = now.toISOString();
  await db.transaction().execute(async (trx) => {
    const webhookIds = [...new Set(results.map((result) => result.delivery.webhook_id))];
    const enabled = await enabledWebhookIds(trx, webhookIds);
    const retries = [];
    const attempts = [];
    for (const result of results) {
      let record = result.record;
      if (record.status === 'retrying' && !enabled.has(result.delivery.webhook_id)) {
        record = { ...record, status: 'failed', next_attempt_at: null, error: `${record.error}; not retried: the webhook is disabled` };
      }
      attempts.push({ id: result.delivery.id, record });
      if (record.status === 'retrying') {
        const { webhook_id, event_id, event_type, attempt } = result.delivery;
        retries.push({ webhook_id, event_id, event_type, attempt: attempt + 1, created_at: record.attempted_at, next_attempt_at: record.next_attempt_at });
      }
    }
    await recordAttempts(trx, attempts);
    await insertDeliveries(trx, retries);

    for (const webhookId of webhookIds) {
      const own = results.filter((result) => result.delivery.webhook_id === webhookId);
      await recordWebhookOutcomes(trx, webhookId, summarise(own));
      const gone = own.find((result) => result.disableReason !== null);
      let disabled = false;
      if (gone) {
        disabled = await disableWebhook(trx, webhookId, gone.disableReason as string, nowIso);
      } else if (own.at(-1)?.record.status !== 'succeeded') {
        const cutoff = new Date(now.getTime() - DISABLE_AFTER_FAILING_MS).toISOString();
        const reason = `Every delivery attempt failed for ${DISABLE_AFTER_FAILING_MS / 86_400_000} days in a row (the last at ${nowIso}). Fix the endpoint, then enable the webhook again.`;
        disabled = await disableWebhookFailingSince(trx, webhookId, cutoff, reason, nowIso);
      }
      if (disabled) await failPendingDeliveries(trx, webhookId, 'Not sent: the webhook was disabled', nowIso);
    }
  });
}

function summarise(results: AttemptResult[]): DeliveryOutcomeSummary {
  const last = results.at(-1) as AttemptResult;
  let failingSince: string | null = null;
  let succeededInBatch = false;
  for (const { record } of results) {
    if (record.status === 'succeeded') {
      succeededInBatch = true;
      failingSince = null;
    } else {
      failingSince ??= record.attempted_at;
    }
  }
  return {
    status: last.record.status,
    responseStatus: last.record.response_status,
    at: last.record.attempted_at,
    failingSince,
    succeededInBatch,
  };
}
