import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { startTestApp, testConfig, type TestApp } from '../support/test-app.js';
import { catalog, dataEvents, openSse, uploadRaw, waitForJob, type JobJson } from './job-helpers.js';

// Scaled mode: the API node only queues (BullMQ) and serves; a worker runtime (what
// `npm run worker` opens) runs the job and its progress reaches the API's SSE stream
// over Redis pub/sub.
const available = (await postgresAvailable()) && (await redisAvailable());
const prefix = `pi-test-${randomBytes(5).toString('hex')}`;

describe.skipIf(!available)('scaled mode: PostgreSQL + Redis/BullMQ + a separate worker', () => {
  let api: TestApp;
  let worker: Runtime;
  let baseUrl: string;
  beforeAll(async () => {
    const env = { REDIS_URL, REDIS_PREFIX: prefix };
    api = await startTestApp('postgres', env);
    baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
    worker = await openRuntime(testConfig(api.store, env), undefined, { runJobs: true });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('reports Redis in /readyz', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ checks: { database: 'ok', redis: 'ok' } });
  });

  it('runs an upload on the worker and streams its progress on the API node', async () => {
    const accepted = (await uploadRaw(api.app, catalog(60_000, { skuPrefix: 'SCALED' }))).json() as JobJson;
    const stream = await openSse(baseUrl, `/api/progress/${accepted.id}`);
    const events = dataEvents(await stream.ended);
    expect(events.at(-1)).toMatchObject({ event: 'completed' });
    expect(events.at(-1)?.job).toMatchObject({ status: 'completed', rows_processed: 60_000, inserted: 60_000 });
    expect(events.filter((event) => event.event !== 'progress')).toHaveLength(1);
    expect(events.filter((event) => event.job.status === 'running').length).toBeGreaterThanOrEqual(1);
  });

  it('bulk delete and cancel work the same way', async () => {
    const response = await api.app.inject({ method: 'DELETE', url: '/api/products/bulk?confirm=true' });
    expect(response.statusCode).toBe(202);
    const done = await waitForJob(api.app, (response.json() as JobJson).id);
    expect(done, String(done.error)).toMatchObject({ status: 'completed', rows_processed: 60_000, percent: 100 });

    const big = (await uploadRaw(api.app, catalog(150_000, { skuPrefix: 'SCANCEL' }))).json() as JobJson;
    await waitForJob(api.app, big.id, (job) => Number(job.rows_processed) > 0);
    expect((await api.app.inject({ method: 'POST', url: `/api/jobs/${big.id}/cancel` })).statusCode).toBe(200);
    const cancelled = await waitForJob(api.app, big.id);
    expect(cancelled.status).toBe('cancelled');
    const retry = await api.app.inject({ method: 'POST', url: `/api/jobs/${big.id}/retry` });
    expect(retry.statusCode).toBe(202);
    expect(await waitForJob(api.app, big.id, undefined, 120_000)).toMatchObject({ status: 'completed', rows_processed: 150_000, inserted: 150_000 });
  });
});
