import type { WebhookConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { DeliveryStatus } from '../db/database.schema.js';
import { appendOutboxEvent } from '../outbox/outbox.repository.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { ConflictError, HttpError, NotFoundError, RequestValidationError, type ValidationIssue } from '../shared/http-errors.js';
import { attemptResultOf, recordAttemptResults } from './webhooks.attempts.js';
import {
  deleteWebhook,
  eventExists,
  failPendingDeliveries,
  findDelivery,
  findWebhook,
  insertDelivery,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  markEventDispatched,
  recentAttempts,
  updateWebhook,
  type DeliveryWithEventRow,
  type WebhookChanges,
  type WebhookRow,
} from './webhooks.repository.js';
import {
  RECENT_DELIVERIES,
  type DeliveryListQuery,
  type Webhook,
  type WebhookCreate,
  type WebhookDelivery,
  type WebhookTestResult,
  type WebhookUpdate,
} from './webhooks.schemas.js';
import { createWebhookSender, eventBody } from './webhooks.sender.js';
import { generateSecret, hasValidKeyLength, isMaskedSecret, maskSecret, SECRET_MAX_KEY_BYTES, SECRET_MIN_KEY_BYTES } from './webhooks.signing.js';
import { refusalOfUrl, targetPolicy, type HostResolver } from './webhooks.ssrf.js';
import { hasMaskedCredentials, maskUrlCredentials } from './webhooks.url-mask.js';

export interface WebhooksService {
  list(): Promise<Webhook[]>;
  get(id: number): Promise<Webhook>;
  create(input: WebhookCreate): Promise<Webhook>;
  update(id: number, input: WebhookUpdate): Promise<Webhook>;
  remove(id: number): Promise<void>;
  rotateSecret(id: number): Promise<Webhook>;
  revealSecret(id: number): Promise<{ secret: string }>;
  /** Sends a webhook.test event now and reports how the endpoint answered. */
  test(id: number, data: Record<string, unknown> | undefined): Promise<WebhookTestResult>;
  deliveries(id: number, query: DeliveryListQuery): Promise<WebhookDelivery[]>;
  redeliver(id: number, deliveryId: number): Promise<WebhookDelivery>;
  /** Closes the test call's connections. */
  close(): Promise<void>;
}

export interface WebhooksServiceDeps {
  database: Database;
  config: WebhookConfig;
  /** Resolves URL hosts for the SSRF guard (default: the system resolver). */
  resolveHost?: HostResolver;
  /** Wakes the dispatcher after a redelivery is scheduled. */
  signal: OutboxSignal;
}

const iso = (value: string | Date | null): string | null => (value === null ? null : new Date(value).toISOString());

type RecentDelivery = Webhook['recent_deliveries'][number];

function toWebhook(row: WebhookRow, recent: RecentDelivery[], showSecret = false): Webhook {
  return {
    id: Number(row.id),
    url: maskUrlCredentials(row.url),
    events: JSON.parse(row.events) as string[],
    enabled: Boolean(row.enabled),
    description: row.description,
    secret: showSecret ? row.secret : maskSecret(row.secret),
    disabled_reason: row.disabled_reason,
    disabled_at: iso(row.disabled_at),
    created_at: iso(row.created_at) as string,
    updated_at: iso(row.updated_at) as string,
    last_delivery:
      row.last_delivery_status === null || row.last_delivery_at === null
        ? null
        : {
            status: row.last_delivery_status as DeliveryStatus,
            response_status: row.last_delivery_response_status,
            at: iso(row.last_delivery_at) as string,
          },
    recent_deliveries: recent,
  };
}

export function toDelivery(row: DeliveryWithEventRow): WebhookDelivery {
  return {
    id: Number(row.id),
    event_id: row.event_id,
    event_type: row.event_type,
    attempt: row.attempt,
    status: row.status,
    response_status: row.response_status,
    response_time_ms: row.response_time_ms,
    response_body: row.response_body,
    error: row.error,
    request_body:
      row.event_data === null || row.event_created_at === null
        ? null
        : eventBody(row.event_id, row.event_type, row.event_created_at, row.event_data),
    created_at: iso(row.created_at) as string,
    attempted_at: iso(row.attempted_at),
    next_attempt_at: iso(row.next_attempt_at),
  };
}

function invalid(field: string, msg: string, type: string): RequestValidationError {
  return new RequestValidationError([{ loc: ['body', field], msg, type }]);
}

/** `events` or the single `event_type`, deduplicated; undefined when neither is given. */
function eventsOf(input: { events?: string[]; event_type?: string }): string[] | undefined {
  if (input.events !== undefined && input.event_type !== undefined) {
    throw invalid('event_type', 'give either events or event_type, not both', 'value_error');
  }
  if (input.event_type !== undefined) return [input.event_type];
  return input.events === undefined ? undefined : [...new Set(input.events)];
}

function checkSecret(secret: string): void {
  if (!hasValidKeyLength(secret)) {
    throw invalid('secret', `the key must be ${SECRET_MIN_KEY_BYTES}–${SECRET_MAX_KEY_BYTES} bytes (whsec_ + base64)`, 'value_error');
  }
}

const DISABLED_BY_API = 'Disabled through the API.';

export function createWebhooksService({ database, config, resolveHost, signal }: WebhooksServiceDeps): WebhooksService {
  const { db } = database;
  const policy = targetPolicy(config, resolveHost);
  const sender = createWebhookSender({ timeoutMs: config.timeoutMs, policy });
  const retry = { maxAttempts: config.maxAttempts, backoffBaseMs: config.backoffBaseMs };

  /** Each webhook's last attempts (of all webhooks, or of one), newest first. */
  async function recentByWebhook(webhookId?: number): Promise<Map<number, RecentDelivery[]>> {
    const byWebhook = new Map<number, RecentDelivery[]>();
    for (const attempt of await recentAttempts(db, RECENT_DELIVERIES, webhookId)) {
      const id = Number(attempt.webhook_id);
      const recent = byWebhook.get(id) ?? [];
      recent.push({
        status: attempt.status as RecentDelivery['status'],
        response_status: attempt.response_status,
        at: iso(attempt.attempted_at) as string,
      });
      byWebhook.set(id, recent);
    }
    return byWebhook;
  }

  async function present(row: WebhookRow, showSecret = false): Promise<Webhook> {
    const recent = await recentByWebhook(Number(row.id));
    return toWebhook(row, recent.get(Number(row.id)) ?? [], showSecret);
  }

  async function existing(id: number): Promise<WebhookRow> {
    const row = await findWebhook(db, id);
    if (!row) throw new NotFoundError('Webhook');
    return row;
  }

  /** The URL as given (trimmed), once it is http(s) and its host passes the SSRF guard. */
  async function checkedUrl(raw: string): Promise<string> {
    const text = raw.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid('url', 'is not a valid URL', 'url_parsing');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url', 'must start with http:// or https://', 'url_scheme');
    const refusal = await refusalOfUrl(url, policy);
    if (refusal) throw invalid('url', `Refused: ${refusal}`, 'url_refused');
    if (hasMaskedCredentials(text)) {
      throw invalid('url', 'has masked credentials (****): give them in full, or the URL exactly as a read shows it to keep it', 'url_masked');
    }
    return text;
  }

  return {
    async list() {
      const [rows, recent] = await Promise.all([listWebhooks(db), recentByWebhook()]);
      return rows.map((row) => toWebhook(row, recent.get(Number(row.id)) ?? []));
    },

    async get(id) {
      return present(await existing(id));
    },

    async create(input) {
      const issues: ValidationIssue[] = [];
      const events = eventsOf(input);
      if (events === undefined) issues.push({ loc: ['body', 'events'], msg: 'Field required (or give event_type)', type: 'missing' });
      if (input.secret !== undefined) checkSecret(input.secret);
      if (issues.length > 0) throw new RequestValidationError(issues);
      const url = await checkedUrl(input.url);
      const now = new Date().toISOString();
      const row = await insertWebhook(db, {
        url,
        events: JSON.stringify(events),
        enabled: input.enabled === false ? 0 : 1,
        description: input.description ?? null,
        secret: input.secret ?? generateSecret(),
        disabled_reason: input.enabled === false ? DISABLED_BY_API : null,
        disabled_at: input.enabled === false ? now : null,
        created_at: now,
        updated_at: now,
      });
      return toWebhook(row, [], true);
    },

    async update(id, input) {
      const current = await existing(id);
      const changes: WebhookChanges = {};
      const events = eventsOf(input);
      if (events !== undefined) changes.events = JSON.stringify(events);
      if (input.secret !== undefined && !isMaskedSecret(input.secret)) {
        checkSecret(input.secret);
        changes.secret = input.secret;
      }
      if (input.description !== undefined) changes.description = input.description;
      // The URL as a read shows it (credentials masked) means "unchanged", like the masked secret.
      if (input.url !== undefined && input.url.trim() !== maskUrlCredentials(current.url)) changes.url = await checkedUrl(input.url);
      const now = new Date().toISOString();
      const disabling = input.enabled === false && current.enabled === 1;
      if (input.enabled === true && current.enabled === 0) {
        Object.assign(changes, { enabled: 1, disabled_reason: null, disabled_at: null, failing_since: null });
      }
      if (disabling) Object.assign(changes, { enabled: 0, disabled_reason: DISABLED_BY_API, disabled_at: now });
      if (Object.keys(changes).length === 0) return present(current);
      changes.updated_at = now;
      const row = await db.transaction().execute(async (trx) => {
        const updated = await updateWebhook(trx, id, changes);
        if (updated && disabling) await failPendingDeliveries(trx, id, 'Not sent: the webhook was disabled', now);
        return updated;
      });
      if (!row) throw new NotFoundError('Webhook');
      return present(row);
    },

    async remove(id) {
      if (!(await deleteWebhook(db, id))) throw new NotFoundError('Webhook');
    },

    async rotateSecret(id) {
      const row = await updateWebhook(db, id, { secret: generateSecret(), updated_at: new Date().toISOString() });
      if (!row) throw new NotFoundError('Webhook');
      return present(row, true);
    },

    async revealSecret(id) {
      return { secret: (await existing(id)).secret };
    },

    async test(id, data) {
      const webhook = await existing(id);
      const started = new Date();
      const now = started.toISOString();
      const payload = data ?? { message: 'A test event from Product Importer.' };
      // The event is stored already dispatched (it goes to this webhook only), and its
      // delivery row is leased so no dispatcher sends it a second time.
      const { eventId, delivery } = await db.transaction().execute(async (trx) => {
        const eventId = await appendOutboxEvent(trx, 'webhook.test', payload, now);
        await markEventDispatched(trx, eventId, now);
        const leaseUntil = new Date(started.getTime() + config.timeoutMs + 60_000).toISOString();
        const delivery = await insertDelivery(
          trx,
          { webhook_id: id, event_id: eventId, event_type: 'webhook.test', attempt: 1, created_at: now, next_attempt_at: now },
          leaseUntil,
        );
        return { eventId, delivery };
      });
      const body = eventBody(eventId, 'webhook.test', now, JSON.stringify(payload));
      const outcome = await sender.send({ url: webhook.url, eventId, body, secret: webhook.secret });
      if (outcome.kind === 'aborted') throw new Error('the test request was aborted');
      const attempted = { id: Number(delivery.id), webhook_id: id, event_id: eventId, event_type: 'webhook.test', attempt: 1 };
      const result = attemptResultOf(attempted, outcome, retry, started, false);
      await recordAttemptResults(db, [result], new Date());
      const { record } = result;
      return {
        success: record.status === 'succeeded',
        status_code: record.response_status,
        response_time_ms: record.response_time_ms,
        error: record.error,
      };
    },

    async deliveries(id, query) {
      await existing(id);
      return (await listDeliveries(db, id, query.limit ?? 50)).map(toDelivery);
    },

    async redeliver(id, deliveryId) {
      const webhook = await existing(id);
      const original = await findDelivery(db, id, deliveryId);
      if (!original) throw new NotFoundError('Delivery');
      if (!webhook.enabled) throw new ConflictError('The webhook is disabled; enable it before redelivering.');
      if (!(await eventExists(db, original.event_id))) {
        throw new HttpError(410, 'The event of this delivery is no longer kept (RETENTION_OUTBOX_DAYS), so it cannot be sent again.');
      }
      const now = new Date().toISOString();
      const row = await insertDelivery(db, {
        webhook_id: id,
        event_id: original.event_id,
        event_type: original.event_type,
        attempt: 1,
        created_at: now,
        next_attempt_at: now,
      });
      signal.notify();
      return toDelivery({ ...row, event_data: original.event_data, event_created_at: original.event_created_at });
    },

    close: () => sender.close(),
  };
}
