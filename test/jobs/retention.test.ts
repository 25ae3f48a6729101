import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Db } from '../../src/db/database.js';
import { anyJobRunning } from '../../src/jobs/jobs.retention.js';
import { openRuntime, retentionTasksOf } from '../../src/runtime.js';
import { runRetentionPass, type RetentionTask } from '../../src/shared/retention.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createTestStore, startTestApp, testConfig, type TestApp, type TestStore } from '../support/test-app.js';

// Finding 6 (retention): finished jobs and their rejected rows, the delivery log and
// delivered outbox events are deleted after their retention period, in small batches;
// unfinished jobs, pending deliveries and events still being delivered are never touched.

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const ERRORS_OF_OLD_JOB = 2500; // more than one batch

let sequence = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`;

async function insertJob(db: Db, status: 'queued' | 'running' | 'completed' | 'failed', finishedDaysAgo: number | null, errors = 0): Promise<string> {
  const id = uuid();
  const created = ago((finishedDaysAgo ?? 0) + 1);
  await db
    .insertInto('jobs')
    .values({ id, type: 'import', status, created_at: created, updated_at: created, finished_at: finishedDaysAgo === null ? null : ago(finishedDaysAgo) })
    .execute();
  for (let start = 0; start < errors; start += 500) {
    const rows = Array.from({ length: Math.min(500, errors - start) }, (_, index) => ({ job_id: id, line: start + index + 2, message: 'bad' }));
    await db.insertInto('job_errors').values(rows).execute();
  }
  return id;
}

/** Disabled, so the running dispatcher leaves its deliveries and our events as they are. */
async function insertWebhook(db: Db): Promise<number> {
  const now = new Date().toISOString();
  const row = await db
    .insertInto('webhooks')
    .values({ url: 'http://127.0.0.1:9/', events: '["product.created"]', enabled: 0, description: null, secret: 'whsec_x', created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

async function insertEvent(db: Db, dispatchedDaysAgo: number | null): Promise<string> {
  const id = `evt_${uuid().replaceAll('-', '')}`;
  await db
    .insertInto('outbox_events')
    .values({ id, type: 'product.created', data: '{}', created_at: ago(60), dispatched_at: dispatchedDaysAgo === null ? null : ago(dispatchedDaysAgo) })
    .execute();
  return id;
}

async function insertDelivery(db: Db, webhookId: number, eventId: string, status: 'pending' | 'succeeded' | 'failed', attemptedDaysAgo: number | null): Promise<number> {
  const row = await db
    .insertInto('webhook_deliveries')
    .values({
      webhook_id: webhookId,
      event_id: eventId,
      event_type: 'product.created',
      attempt: 1,
      status,
      created_at: ago(60),
      attempted_at: attemptedDaysAgo === null ? null : ago(attemptedDaysAgo),
      next_attempt_at: status === 'pending' ? new Date(Date.now() + DAY).toISOString() : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

const ids = async (db: Db, table: 'jobs' | 'outbox_events') =>
  (await db.selectFrom(table).select('id').execute()).map((row) => String(row.id)).sort();

describeEachDialect('retention (%s)', (dialect) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  // The app's own retention task runs a pass when it starts, which could race the rows a test
  // inserts: it keeps everything (ten years), and the tests run their passes with the defaults.
  const KEEP_ALL = { RETENTION_JOBS_DAYS: '3650', RETENTION_DELIVERIES_DAYS: '3650', RETENTION_OUTBOX_DAYS: '3650' };
  const DEFAULT_PERIODS = { jobsDays: 90, deliveriesDays: 30, outboxDays: 7 };
  const tasksOf = (app: TestApp): RetentionTask[] =>
    retentionTasksOf({ ...app.config, retention: { ...app.config.retention, ...DEFAULT_PERIODS } }, app.runtime.database);

  it('deletes what outlived its period in batches, and keeps everything else', async () => {
    test = await startTestApp(dialect, KEEP_ALL);
    const { db } = test.runtime.database;
    // Defaults: jobs 90 days, deliveries 30 days, outbox 7 days after fan-out.
    const oldJob = await insertJob(db, 'completed', 100, ERRORS_OF_OLD_JOB);
    const oldFailedJob = await insertJob(db, 'failed', 91, 3);
    const recentJob = await insertJob(db, 'completed', 80, 5);
    const oldUnfinished = await insertJob(db, 'queued', null);

    const webhook = await insertWebhook(db);
    const deliveredEvent = await insertEvent(db, 10);
    const stillDelivering = await insertEvent(db, 10);
    const recentEvent = await insertEvent(db, 2);
    const notFannedOut = await insertEvent(db, null);
    const oldSucceeded = await insertDelivery(db, webhook, deliveredEvent, 'succeeded', 40);
    const oldFailed = await insertDelivery(db, webhook, deliveredEvent, 'failed', 31);
    const recentFailed = await insertDelivery(db, webhook, stillDelivering, 'failed', 5);
    const pending = await insertDelivery(db, webhook, stillDelivering, 'pending', null);

    const deleted = await runRetentionPass(tasksOf(test), { onError: (task, error) => { throw new Error(`${task}: ${String(error)}`); }, pauseMs: 0 });
    expect(deleted).toMatchObject({
      'finished jobs': ERRORS_OF_OLD_JOB + 3 + 2,
      'webhook deliveries': 2,
      'outbox events': 1,
    });

    const jobsLeft = await ids(db, 'jobs');
    expect(jobsLeft).toEqual([recentJob, oldUnfinished].sort());
    expect(jobsLeft).not.toContain(oldJob);
    expect(jobsLeft).not.toContain(oldFailedJob);
    const errorsLeft = await db.selectFrom('job_errors').select(['job_id']).execute();
    expect(errorsLeft.every((row) => row.job_id === recentJob)).toBe(true);
    expect(errorsLeft).toHaveLength(5);
    const deliveriesLeft = (await db.selectFrom('webhook_deliveries').select('id').execute()).map((row) => Number(row.id)).sort((a, b) => a - b);
    expect(deliveriesLeft).toEqual([recentFailed, pending].sort((a, b) => a - b));
    expect(deliveriesLeft).not.toContain(oldSucceeded);
    expect(deliveriesLeft).not.toContain(oldFailed);
    expect(await ids(db, 'outbox_events')).toEqual([stillDelivering, recentEvent, notFannedOut].sort());

    // Nothing is left to delete: a second pass deletes nothing.
    const again = await runRetentionPass(tasksOf(test), { onError: () => undefined, pauseMs: 0 });
    expect(Object.values(again).every((count) => count === 0)).toBe(true);
  });

  it('a delivery whose event was deleted cannot be redelivered: 410', async () => {
    test = await startTestApp(dialect, KEEP_ALL);
    const { db } = test.runtime.database;
    const webhook = await insertWebhook(db);
    await db.updateTable('webhooks').set({ enabled: 1 }).where('id', '=', webhook).execute();
    const event = await insertEvent(db, 10);
    const delivery = await insertDelivery(db, webhook, event, 'failed', 5);
    await runRetentionPass(tasksOf(test), { onError: () => undefined, pauseMs: 0 });
    expect(await ids(db, 'outbox_events')).not.toContain(event);
    const response = await test.app.inject({ method: 'POST', url: `/api/webhooks/${webhook}/deliveries/${delivery}/redeliver` });
    expect(response.statusCode).toBe(410);
    expect(response.json().detail).toMatch(/RETENTION_OUTBOX_DAYS/);
  });

  it('gives way to a running job: the pass deletes nothing while one runs', async () => {
    test = await startTestApp(dialect, KEEP_ALL);
    const { db } = test.runtime.database;
    const old = await insertJob(db, 'completed', 100, 10);
    const running = await insertJob(db, 'running', null);
    const holdOff = () => anyJobRunning(test!.runtime.database);
    const held = await runRetentionPass(tasksOf(test), { holdOff, onError: () => undefined, pauseMs: 0 });
    expect(Object.values(held).every((count) => count === 0)).toBe(true);
    expect(await ids(db, 'jobs')).toEqual([old, running].sort());
    await db.updateTable('jobs').set({ status: 'failed', finished_at: new Date().toISOString() }).where('id', '=', running).execute();
    await runRetentionPass(tasksOf(test), { holdOff, onError: () => undefined, pauseMs: 0 });
    expect(await ids(db, 'jobs')).toEqual([running]);
  });
});

describe('the retention task of a process', () => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.drop();
  });

  it('runs when the process starts, with the configured periods', async () => {
    store = await createTestStore('sqlite');
    const config = testConfig(store, { RETENTION_JOBS_DAYS: '5' });
    const first = await openRuntime(config);
    const old = await insertJob(first.database.db, 'completed', 6, 3);
    const kept = await insertJob(first.database.db, 'completed', 4);
    await first.close();

    const second = await openRuntime(config);
    try {
      const app = await buildApp(second);
      const deadline = Date.now() + 10_000;
      while ((await ids(second.database.db, 'jobs')).includes(old)) {
        if (Date.now() > deadline) throw new Error('the retention task did not run at start');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await ids(second.database.db, 'jobs')).toEqual([kept]);
      expect((await app.inject({ method: 'GET', url: `/api/jobs/${old}` })).statusCode).toBe(404);
      await app.close();
    } finally {
      await second.close();
    }
  });
});
