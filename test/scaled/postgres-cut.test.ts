import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { catalog, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { startTestApp, testConfig, type TestApp } from '../support/test-app.js';
import { waitUntil } from '../webhooks/webhook-support.js';
import { dropRedisPrefix, holdSku, jobAttempts, productCount, startPostgresProxy, waitUntilHeld, type PostgresProxy, type RowHold } from './scaled-support.js';

// An import loses its database connection twice with a batch in flight: its backend is
// terminated (pg_terminate_backend), then every PostgreSQL connection of the API node
// and of the worker, which all go through a TCP proxy of this test, is cut and new ones
// are refused for a moment.
const available = (await postgresAvailable()) && (await redisAvailable());

const ROWS = 65_000;

async function readiness(api: TestApp): Promise<{ status: number; database: string }> {
  const response = await api.app.inject({ method: 'GET', url: '/readyz' });
  return { status: response.statusCode, database: (response.json() as { checks: Record<string, string> }).checks.database ?? '' };
}

describe.skipIf(!available)('PostgreSQL connections lost mid-import (scaled mode)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  let proxy: PostgresProxy;
  let api: TestApp;
  let worker: Runtime;
  const holds: RowHold[] = [];
  beforeAll(async () => {
    proxy = await startPostgresProxy();
    const env = { REDIS_URL, REDIS_PREFIX: prefix, DATABASE_URL: proxy.url };
    api = await startTestApp('postgres', env);
    worker = await openRuntime(testConfig(api.store, env), undefined, { runJobs: true, runWebhookDispatcher: false });
  });
  afterAll(async () => {
    await Promise.all(holds.map((hold) => hold.release()));
    proxy?.restore();
    await worker?.close();
    await api?.close();
    await proxy?.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  it('the batch in flight is retried, the counts stay exact, /readyz is 503 while the database is unreachable', { timeout: 180_000 }, async () => {
    // Each run writes its first 20,000 rows alone: the write after them waits on the first hold; the
    // run after the terminated backend writes rows 20,000-40,000 alone, then waits on the second.
    const [second, third] = [await holdSku(api.store, 'CUT-24000'), await holdSku(api.store, 'CUT-44000')];
    holds.push(second!, third!);
    const accepted = (await uploadRaw(api.app, catalog(ROWS, { skuPrefix: 'CUT' }))).json() as JobJson;
    await waitUntilHeld(api.store, accepted.id, second!, 20_000);

    // The import's backend is terminated (the database stays up): the batch runs again on a new connection.
    await second!.terminateWaiting();
    await second!.waitUntilBlocking();
    await second!.release();
    await waitUntilHeld(api.store, accepted.id, third!, 40_000);

    // Every connection of the API node and of the worker is cut, and new ones are refused for a while.
    proxy.cut();
    expect(await readiness(api)).toMatchObject({ status: 503, database: expect.stringMatching(/^failed/) });
    expect((await api.app.inject({ method: 'GET', url: `/api/jobs/${accepted.id}` })).statusCode).toBeGreaterThanOrEqual(500);
    await third!.release(); // PostgreSQL rolls the cut batch's transaction back

    const connectionsBefore = proxy.connections();
    proxy.restore();
    await waitUntil(async () => (await readiness(api)).status === 200, 20_000, () => '/readyz to answer 200 again');
    const done = await waitForJob(api.app, accepted.id, undefined, 60_000);
    expect(done, String(done.error)).toMatchObject({ status: 'completed', rows_processed: ROWS, inserted: ROWS, updated: 0, unchanged: 0, invalid: 0 });
    expect(await productCount(api.store, 'CUT')).toBe(ROWS);
    expect(await jobAttempts(api.store, accepted.id)).toBe(1); // retried within its run, not failed and run again
    expect(proxy.connections()).toBeGreaterThan(connectionsBefore); // the work went on over new connections
  });

  it('a connection lost again and again before any batch commits fails the job instead of retrying forever', { timeout: 120_000 }, async () => {
    const first = await holdSku(api.store, 'LOST-4000'); // in the first batch
    holds.push(first);
    const accepted = (await uploadRaw(api.app, catalog(ROWS, { skuPrefix: 'LOST' }))).json() as JobJson;
    // Three losses in a row are waited out (the job goes on from its checkpoint each time); the fourth fails it.
    for (let loss = 1; loss <= 4; loss++) {
      await first.waitUntilBlocking();
      await first.terminateWaiting();
    }
    const done = await waitForJob(api.app, accepted.id, undefined, 60_000);
    expect(done).toMatchObject({ status: 'failed', rows_processed: 0, inserted: 0 });
    expect(String(done.error)).toMatch(/terminat/i);
    expect(await jobAttempts(api.store, accepted.id)).toBe(1);
    await first.release();
    expect(await productCount(api.store, 'LOST')).toBe(0);
  });
});
