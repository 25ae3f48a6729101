import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { appendOutboxEvent } from '../../src/outbox/outbox.repository.js';
import { claimDueDeliveries, loadClaimedDeliveries, type ClaimedDelivery } from '../../src/webhooks/webhooks.claims.repository.js';
import { insertDeliveries } from '../../src/webhooks/webhooks.repository.js';
import { createWebhookSender, type WebhookSender } from '../../src/webhooks/webhooks.sender.js';
import { createSendPool, type SendPool } from '../../src/webhooks/webhooks.send-pool.js';
import { targetPolicy } from '../../src/webhooks/webhooks.ssrf.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createTestStore, testConfig, type TestStore } from '../support/test-app.js';
import { insertTestWebhook, startReceiver, type Receiver } from './webhook-support.js';

// The dispatcher's send pool on its own: real deliveries claimed from a real database, sent
// to a real HTTP receiver. It counts the slots in use per webhook, writes each result, tells
// when a slot is free and when a retry falls due, and gives back what it abandons on close.

const CONCURRENCY = 5;
const PER_ENDPOINT = 3;
const BACKOFF_BASE_MS = 60_000;

describeEachDialect('webhook send pool on %s', (dialect) => {
  let store: TestStore | undefined;
  let database: Database;
  let sender: WebhookSender;
  let receiver: Receiver | undefined;
  let pool: SendPool | undefined;
  let slotsFreed: number;
  let retriesAt: number[];
  let errors: string[];

  beforeAll(async () => {
    store = await createTestStore(dialect);
    database = createDatabase(testConfig(store).database);
    await migrateToLatest(database.db);
    sender = createWebhookSender({ timeoutMs: 10_000, policy: targetPolicy({ allowPrivateNetworks: true }) });
  });

  afterAll(async () => {
    await sender?.close();
    await database?.close();
    await store?.drop();
  });

  beforeEach(async () => {
    await database.db.deleteFrom('webhook_deliveries').execute();
    await database.db.deleteFrom('webhooks').execute();
    slotsFreed = 0;
    retriesAt = [];
    errors = [];
    pool = createSendPool({
      db: database.db,
      sender,
      retry: { maxAttempts: 3, backoffBaseMs: BACKOFF_BASE_MS },
      concurrency: CONCURRENCY,
      concurrencyPerEndpoint: PER_ENDPOINT,
      onSlotFreed: () => slotsFreed++,
      onRetryScheduled: (time) => retriesAt.push(time),
      onError: (message) => errors.push(message),
    });
  });

  afterEach(async () => {
    await pool?.close();
    await receiver?.close();
  });

  /** `count` pending deliveries to a new webhook at `url`, claimed as the dispatcher claims them. */
  async function claimedDeliveries(url: string, count: number): Promise<ClaimedDelivery[]> {
    const now = new Date().toISOString();
    const webhookId = await insertTestWebhook(database.db, { url, enabled: true, at: now });
    const eventId = await appendOutboxEvent(database.db, 'product.created', { sku: 'P-1' }, now);
    await insertDeliveries(
      database.db,
      Array.from({ length: count }, () => ({ webhook_id: webhookId, event_id: eventId, event_type: 'product.created', attempt: 1, created_at: now, next_attempt_at: now })),
    );
    const ids = await claimDueDeliveries(database.db, {
      now,
      leaseUntil: new Date(Date.now() + 60_000).toISOString(),
      limit: count,
      perWebhookLimit: count,
      freeSlots: new Map(),
    });
    return loadClaimedDeliveries(database.db, ids);
  }

  const statuses = async () =>
    (await database.db.selectFrom('webhook_deliveries').select(['status', 'attempt', 'lease_until']).orderBy('id').execute()).map((row) => ({
      status: row.status,
      attempt: row.attempt,
      leased: row.lease_until !== null,
    }));

  it('holds a slot per send, overall and per webhook, until the answer; then writes the result', async () => {
    receiver = await startReceiver();
    const toA = await claimedDeliveries(receiver.url, 2);
    const toB = await claimedDeliveries(`${receiver.url}?b`, 1);
    const [a] = toA;
    const [b] = toB;
    for (const delivery of [...toA, ...toB]) pool?.send(delivery);

    expect(pool?.freeSlots()).toEqual({
      total: CONCURRENCY - 3,
      perWebhook: new Map([
        [a?.webhook_id, PER_ENDPOINT - 2],
        [b?.webhook_id, PER_ENDPOINT - 1],
      ]),
    });
    await expect.poll(() => slotsFreed).toBe(3);
    expect(pool?.freeSlots()).toEqual({ total: CONCURRENCY, perWebhook: new Map() });
    await expect.poll(statuses).toEqual(Array.from({ length: 3 }, () => ({ status: 'succeeded', attempt: 1, leased: false })));
    expect(receiver.requests).toHaveLength(3);
    expect(retriesAt).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('schedules a failed attempt again and says when it falls due', async () => {
    receiver = await startReceiver(() => ({ status: 503 }));
    const [delivery] = await claimedDeliveries(receiver.url, 1);
    const sentAfter = Date.now();
    pool?.send(delivery as ClaimedDelivery);

    await expect.poll(() => retriesAt.length).toBe(1);
    // Backoff of the first retry: the base, ±20 % jitter.
    expect(retriesAt[0]).toBeGreaterThanOrEqual(sentAfter + BACKOFF_BASE_MS * 0.8);
    expect(retriesAt[0]).toBeLessThanOrEqual(Date.now() + BACKOFF_BASE_MS * 1.2);
    expect(await statuses()).toEqual([
      { status: 'retrying', attempt: 1, leased: false },
      { status: 'pending', attempt: 2, leased: false },
    ]);
  });

  it('on close, abandons the request in flight and gives its delivery back', async () => {
    receiver = await startReceiver(() => ({ delayMs: 60_000 }));
    const [delivery] = await claimedDeliveries(receiver.url, 1);
    expect(await statuses()).toEqual([{ status: 'pending', attempt: 1, leased: true }]);
    pool?.send(delivery as ClaimedDelivery);
    await receiver.waitForRequests(1);

    await pool?.close();
    expect(await statuses()).toEqual([{ status: 'pending', attempt: 1, leased: false }]);
    expect(slotsFreed).toBe(1);
    expect(errors).toEqual([]);
  });
});
