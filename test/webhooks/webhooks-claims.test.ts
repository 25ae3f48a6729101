import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { appendOutboxEvent } from '../../src/outbox/outbox.repository.js';
import {
  claimDueDeliveries,
  claimOutboxEvents,
  hasClaimableDeliveries,
  hasUndispatchedEvents,
  loadClaimedDeliveries,
  releaseDeliveries,
  type ClaimOptions,
} from '../../src/webhooks/webhooks.claims.repository.js';
import { insertDeliveries } from '../../src/webhooks/webhooks.repository.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { insertTestWebhook } from './webhook-support.js';
import { createTestStore, testConfig, type TestStore } from '../support/test-app.js';

// The dispatcher's queue on its own, on a real database of each dialect: what a claim takes
// (due, unleased, pending rows of enabled webhooks, oldest first, within the overall and the
// per-webhook limits), that a claimed row is nobody else's until its lease ends, and the outbox
// claim that fans events out once.

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const sorted = (ids: number[]) => [...ids].sort((x, y) => x - y);

describeEachDialect('webhook claims on %s', (dialect) => {
  let store: TestStore | undefined;
  let database: Database;

  beforeAll(async () => {
    store = await createTestStore(dialect);
    database = createDatabase(testConfig(store).database);
    await migrateToLatest(database.db);
  });

  afterAll(async () => {
    await database?.close();
    await store?.drop();
  });

  beforeEach(async () => {
    await database.db.deleteFrom('webhook_deliveries').execute();
    await database.db.deleteFrom('webhooks').execute();
    await database.db.deleteFrom('outbox_events').execute();
  });

  async function webhook(enabled = true): Promise<number> {
    return insertTestWebhook(database.db, { url: 'https://receiver.example/hook', enabled, at: at(0) });
  }

  /** Pending deliveries of `webhookId`, due at the given seconds after T0; their ids, in that order. */
  async function deliveries(webhookId: number, dueAt: number[]): Promise<number[]> {
    const eventId = await appendOutboxEvent(database.db, 'product.created', { sku: 'A-1' }, at(0));
    await insertDeliveries(
      database.db,
      dueAt.map((seconds) => ({ webhook_id: webhookId, event_id: eventId, event_type: 'product.created', attempt: 1, created_at: at(0), next_attempt_at: at(seconds) })),
    );
    const rows = await database.db.selectFrom('webhook_deliveries').select(['id', 'next_attempt_at']).where('webhook_id', '=', webhookId).orderBy('id').execute();
    return rows.slice(-dueAt.length).map((row) => Number(row.id));
  }

  const claim = (now: number, options: Partial<ClaimOptions> = {}) =>
    claimDueDeliveries(database.db, { now: at(now), leaseUntil: at(now + 60), limit: 10, perWebhookLimit: 10, freeSlots: new Map(), ...options });

  it('takes due pending deliveries of enabled webhooks only, oldest first', async () => {
    const a = await webhook();
    const disabled = await webhook(false);
    const [aFirst, aSecond, aLater] = await deliveries(a, [1, 2, 40]);
    await deliveries(disabled, [1]);
    const [ended] = await deliveries(a, [0]);
    await database.db.updateTable('webhook_deliveries').set({ status: 'succeeded' }).where('id', '=', ended as number).execute();

    expect(await hasClaimableDeliveries(database.db, at(10))).toBe(true);
    expect(await claim(10)).toEqual([aFirst, aSecond]);
    expect(await claim(50)).toEqual([aLater]); // the first two are still leased (until 70)
  });

  it('keeps within the overall limit and each webhook’s limit or free slots', async () => {
    const a = await webhook();
    const b = await webhook();
    const c = await webhook();
    const aIds = await deliveries(a, [1, 2, 3, 4]);
    const bIds = await deliveries(b, [1, 2, 3]);
    const cIds = await deliveries(c, [1, 2]);

    // A is already sending 1 of its 3 (2 free), B all 3 (none free), C nothing.
    const taken = await claim(10, { perWebhookLimit: 3, freeSlots: new Map([[a, 2], [b, 0]]) });
    expect(sorted(taken)).toEqual(sorted([...aIds.slice(0, 2), ...cIds]));

    // The overall limit takes the oldest first (B's due at 1 and 2 s, before A's at 3 and 4 s).
    expect(sorted(await claim(10, { limit: 2, perWebhookLimit: 3 }))).toEqual(bIds.slice(0, 2));
    expect(sorted(await claim(10, { perWebhookLimit: 3 }))).toEqual(sorted([...aIds.slice(2), bIds[2] as number]));
  });

  it('leaves a claimed delivery to its claimant until the lease ends or it is given back', async () => {
    const a = await webhook();
    const [first, second] = await deliveries(a, [1, 2]);
    // Two dispatchers at once never take the same delivery (on PostgreSQL the later one may find
    // the row it picked already taken, and take nothing: the next claim takes the rest).
    const [one = [], other = []] = await Promise.all([claim(10, { limit: 1 }), claim(10, { limit: 1 })]);
    expect(one.filter((id) => other.includes(id))).toEqual([]);
    const rest = await claim(10);
    expect(sorted([...one, ...other, ...rest])).toEqual([first, second]);
    expect(await hasClaimableDeliveries(database.db, at(10))).toBe(false);
    expect(await claim(20)).toEqual([]);

    expect(sorted(await claim(71))).toEqual([first, second]); // both leases (until 70) ended
    await releaseDeliveries(database.db, [second as number]);
    expect(await claim(72)).toEqual([second]);
  });

  it('loads what a send needs, with null data when the event is gone', async () => {
    const a = await webhook();
    const [id] = await deliveries(a, [1]);
    const [loaded] = await loadClaimedDeliveries(database.db, [id as number]);
    expect(loaded).toMatchObject({ id, webhook_id: a, event_type: 'product.created', attempt: 1, url: 'https://receiver.example/hook' });
    expect(JSON.parse(loaded?.data ?? 'null')).toEqual({ sku: 'A-1' });

    await database.db.deleteFrom('outbox_events').execute();
    const [orphan] = await loadClaimedDeliveries(database.db, [id as number]);
    expect(orphan).toMatchObject({ id, data: null, event_created_at: null });
  });

  it('claims each outbox event once, in the order appended', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await appendOutboxEvent(database.db, 'product.created', { i }, at(i)));
    expect(await hasUndispatchedEvents(database.db)).toBe(true);

    // Two dispatchers at once never take the same event (on PostgreSQL the later one may find
    // the rows it picked already taken, and take fewer; one that took a full batch claims again).
    const batches = await Promise.all([claimOutboxEvents(database.db, at(10), 3), claimOutboxEvents(database.db, at(10), 3)]);
    for (let batch = await claimOutboxEvents(database.db, at(11), 3); batch.length > 0; batch = await claimOutboxEvents(database.db, at(11), 3)) {
      batches.push(batch);
    }
    const claimed = batches.flat().map((event) => event.id);
    expect([...claimed].sort()).toEqual([...ids].sort());
    for (const batch of batches) expect(batch.map((event) => event.id)).toEqual(ids.filter((id) => batch.some((event) => event.id === id)));
    expect(await hasUndispatchedEvents(database.db)).toBe(false);
  });
});
