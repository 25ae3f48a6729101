import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { catalog, dataEvents, openSse, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';
import { postgresAvailable } from '../support/services.js';
import { startTestApp, testConfig, type TestApp } from '../support/test-app.js';
import { createWebhook, deliveriesOf, startReceiver, verifySignature, waitUntil, WEBHOOK_TEST_ENV, type Receiver } from '../webhooks/webhook-support.js';
import { holdSku, productCount, startOwnRedis, type OwnRedis, type RowHold } from './scaled-support.js';

// Redis goes away in the middle of an import and comes back (a redis-server of this test's
// own, persisted, stopped and started again). The API node and the worker are not restarted.
const available = await postgresAvailable();

const ROWS = 45_000;
const OUTAGE_MS = 5000;

async function readiness(api: TestApp): Promise<{ status: number; redis: string }> {
  const response = await api.app.inject({ method: 'GET', url: '/readyz' });
  return { status: response.statusCode, redis: (response.json() as { checks: Record<string, string> }).checks.redis ?? '' };
}

describe.skipIf(!available)('Redis down during an import (PostgreSQL + an own redis-server)', () => {
  let redis: OwnRedis;
  let api: TestApp;
  let worker: Runtime;
  let receiver: Receiver;
  let baseUrl: string;
  let hold: RowHold | undefined;
  beforeAll(async () => {
    redis = await startOwnRedis();
    const env = { ...WEBHOOK_TEST_ENV, REDIS_URL: redis.url, REDIS_PREFIX: `pi-test-${randomBytes(5).toString('hex')}` };
    api = await startTestApp('postgres', env);
    baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
    // Both processes deliver webhooks: a delivery must still be made once.
    worker = await openRuntime(testConfig(api.store, env), undefined, { runJobs: true });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await hold?.release();
    await redis?.start(); // if a failure left it stopped: closing the queue needs it
    await worker?.close();
    await api?.close();
    await receiver?.close();
    await redis?.close();
  });

  it('the import, the API, its SSE streams and the webhooks go on; /readyz is 503 while Redis is down', { timeout: 120_000 }, async () => {
    const webhook = await createWebhook(api.app, { url: receiver.url, events: ['import.completed'] });
    const earlier = (await uploadRaw(api.app, catalog(10, { skuPrefix: 'EARLY' }))).json() as JobJson;
    await waitForJob(api.app, earlier.id);
    hold = await holdSku(api.store, 'DOWN-24000');
    const held = (await uploadRaw(api.app, catalog(ROWS, { skuPrefix: 'DOWN' }))).json() as JobJson;
    const before = await openSse(baseUrl, `/api/progress/${held.id}`);
    await hold.waitUntilBlocking();
    expect((await readiness(api)).status).toBe(200);

    await redis.stop();
    const downAt = Date.now();
    expect(await readiness(api)).toMatchObject({ status: 503, redis: expect.stringMatching(/^failed/) });
    // A stream opened while Redis is down still follows the job (from the jobs table), be the
    // job's progress channel subscribed already (another stream follows it) or not.
    const during = await openSse(baseUrl, `/api/progress/${held.id}`);
    expect(during.status).toBe(200);
    const earlierDuring = await openSse(baseUrl, `/api/progress/${earlier.id}`);
    expect(earlierDuring.status).toBe(200);
    expect(dataEvents(await earlierDuring.ended).at(-1)).toMatchObject({ event: 'completed' });
    await hold.release(); // the import goes on and finishes while Redis is down

    for (const stream of [before, during]) {
      const events = dataEvents(await stream.ended);
      expect(events.at(-1)).toMatchObject({ event: 'completed', job: { status: 'completed', rows_processed: ROWS, inserted: ROWS } });
    }
    expect(await productCount(api.store, 'DOWN')).toBe(ROWS);
    // The API answers, and the finished import's webhook goes out, without Redis.
    expect((await api.app.inject({ method: 'GET', url: '/api/products?sku=DOWN-1&page_size=1' })).statusCode).toBe(200);
    await receiver.waitForRequests(2, 30_000);
    // The outage lasts OUTAGE_MS at least, whatever the speed of the above (it is the scenario, not a wait for a result).
    await waitUntil(() => Date.now() - downAt >= OUTAGE_MS, OUTAGE_MS + 1000);
    expect((await readiness(api)).status).toBe(503);
    const downForMs = Date.now() - downAt;

    await redis.start();
    await waitUntil(async () => (await readiness(api)).status === 200, 20_000, () => `/readyz to answer 200 again (Redis was down ${downForMs} ms)`);

    const earlierAfter = await openSse(baseUrl, `/api/progress/${earlier.id}`);
    expect(earlierAfter.status).toBe(200);
    expect(dataEvents(await earlierAfter.ended).at(-1)).toMatchObject({ event: 'completed' });

    // Without a restart: the worker takes the next job from the queue, and its progress reaches a new stream.
    const next = (await uploadRaw(api.app, catalog(50, { skuPrefix: 'AFTER' }))).json() as JobJson;
    const after = await openSse(baseUrl, `/api/progress/${next.id}`);
    expect(dataEvents(await after.ended).at(-1)).toMatchObject({ event: 'completed', job: { rows_processed: 50, inserted: 50 } });

    // Each import's event reached the receiver exactly once, though two dispatchers ran.
    await receiver.waitForRequests(3, 30_000);
    const succeeded = async () => (await deliveriesOf(api.app, webhook.id)).filter((delivery) => delivery.status === 'succeeded').length;
    await waitUntil(async () => (await succeeded()) >= 3);
    const jobIds = receiver.requests.map((request) => (verifySignature(request, webhook.secret).data as { job_id: string }).job_id);
    expect(jobIds.sort()).toEqual([earlier.id, held.id, next.id].sort());
    expect(new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size).toBe(3);
    expect((await deliveriesOf(api.app, webhook.id)).map((delivery) => [delivery.status, delivery.attempt])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect(await waitForJob(api.app, held.id)).toMatchObject({ status: 'completed', rows_processed: ROWS });
  });
});
