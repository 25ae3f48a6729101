import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { catalog, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { testConfig } from '../support/test-app.js';
import { createWebhook, startReceiver, startWebhookApp, verifySignature, type Receiver, type WebhookTestApp } from './webhook-support.js';

// Finding 9: a finished import's event, committed inside the job thread (or by a worker
// process), wakes the webhook dispatcher at once. The dispatcher's poll is set to an hour,
// so only the wake-up can deliver the event while the test waits.

const NO_POLL = { WEBHOOK_POLL_INTERVAL_MS: '3600000' };

describeEachDialect('import events wake the dispatcher (%s, one process)', (dialect) => {
  let test: WebhookTestApp | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await test?.close();
    await receiver?.close();
  });

  it('delivers import.completed without waiting for the poll', async () => {
    test = await startWebhookApp(dialect, { env: NO_POLL });
    receiver = await startReceiver();
    const webhook = await createWebhook(test.app, { url: receiver.url, events: ['import.completed'] });
    const accepted = (await uploadRaw(test.app, catalog(5, { skuPrefix: 'WAKE' }))).json() as JobJson;
    const [request] = await receiver.waitForRequests(1, 30_000);
    const event = verifySignature(request!, webhook.secret);
    expect(event).toMatchObject({ type: 'import.completed', data: { job_id: accepted.id, status: 'completed', inserted: 5 } });
    expect(await waitForJob(test.app, accepted.id)).toMatchObject({ status: 'completed' });
  });
});

const scaled = (await postgresAvailable()) && (await redisAvailable());

describe.skipIf(!scaled)('import events wake the dispatcher across processes (PostgreSQL + Redis)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  let api: WebhookTestApp | undefined;
  let worker: Runtime | undefined;
  let receiver: Receiver | undefined;
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await receiver?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("a worker's import.completed wakes the API node's dispatcher", async () => {
    const env = { ...NO_POLL, REDIS_URL, REDIS_PREFIX: prefix };
    // The API node delivers webhooks and runs no jobs; the worker runs jobs and delivers no webhooks.
    api = await startWebhookApp('postgres', { env });
    worker = await openRuntime(testConfig(api.store, { ...api.store.env, ...env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }), undefined, {
      runJobs: true,
      runWebhookDispatcher: false,
    });
    receiver = await startReceiver();
    const webhook = await createWebhook(api.app, { url: receiver.url, events: ['import.completed'] });
    const accepted = (await uploadRaw(api.app, catalog(5, { skuPrefix: 'XWAKE' }))).json() as JobJson;
    const [request] = await receiver.waitForRequests(1, 30_000);
    expect(verifySignature(request!, webhook.secret)).toMatchObject({ type: 'import.completed', data: { job_id: accepted.id } });
  });
});
