import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createBullJobQueue } from '../../src/jobs/jobs.queue.bullmq.js';
import type { JobConsumer, JobQueue, RunOutcome } from '../../src/jobs/jobs.queue.js';
import { registerJobQueueMetrics } from '../../src/jobs/jobs.queue.metrics.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { queueBackends } from '../jobs/contract-backends.js';
import { freePort } from '../support/ports.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { describeEach } from '../support/suites.js';
import { createTestStore, testConfig, type TestStore } from '../support/test-app.js';

// What /metrics tells an operator about the queue, the job runs and the webhook backlog,
// read from real back-ends: the in-process queue, BullMQ on Redis, SQLite and PostgreSQL.

/** The value of one sample in Prometheus text, e.g. sample(text, 'job_queue_jobs{state="waiting"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A run that holds each job until the test releases it or its consumer closes, or throws when told to. */
function heldRuns() {
  const releases = new Map<string, (outcome: RunOutcome) => void>();
  const failing = new Set<string>();
  return {
    releases,
    failOnce: (jobId: string) => failing.add(jobId),
    run: (jobId: string, signal: AbortSignal): Promise<RunOutcome> => {
      if (failing.delete(jobId)) return Promise.reject(new Error('the run threw'));
      return new Promise((resolve) => {
        releases.set(jobId, resolve);
        signal.addEventListener('abort', () => resolve('interrupted'));
      });
    },
  };
}

describeEach('queue metrics ($name)', await queueBackends(), (backend) => {
  let queue: JobQueue;
  let consumer: JobConsumer | undefined;
  afterAll(async () => {
    await consumer?.close();
    await queue?.close();
    await backend.cleanUp();
  });

  it('counts waiting and active jobs, and times runs by how they ended', async () => {
    queue = backend.create();
    const registry = new Registry();
    const metrics = registerJobQueueMetrics(registry, queue);
    const text = () => registry.metrics();
    const [first, second, failed] = [randomUUID(), randomUUID(), randomUUID()];
    await queue.enqueue(first);
    await queue.enqueue(second);
    expect(sample(await text(), 'job_queue_jobs{state="waiting"}')).toBe(2);
    expect(sample(await text(), 'job_queue_jobs{state="active"}')).toBe(0);

    const runs = heldRuns();
    consumer = queue.consume(metrics.timed(runs.run), { concurrency: 1 });
    await expect.poll(() => runs.releases.has(first)).toBe(true);
    const holding = await text();
    expect(sample(holding, 'job_queue_jobs{state="active"}')).toBe(1);
    expect(sample(holding, 'job_queue_jobs{state="waiting"}')).toBe(1);

    runs.releases.get(first)!('finished');
    await expect.poll(() => runs.releases.has(second)).toBe(true);
    runs.releases.get(second)!('finished');
    await expect.poll(async () => sample(await text(), 'job_run_duration_seconds_count{outcome="finished"}')).toBe(2);

    runs.failOnce(failed);
    await queue.enqueue(failed);
    await expect.poll(async () => sample(await text(), 'job_run_duration_seconds_count{outcome="error"}')).toBe(1);
    if (backend.name === 'bullmq') {
      // BullMQ keeps a run that threw for a retry after a backoff, then runs it again.
      await expect.poll(async () => sample(await text(), 'job_queue_jobs{state="delayed"}'), { interval: 20 }).toBe(1);
      await expect.poll(() => runs.releases.has(failed)).toBe(true);
      runs.releases.get(failed)!('finished');
    }
    await expect.poll(async () => sample(await text(), 'job_queue_jobs{state="active"}')).toBe(0);
    expect(sample(await text(), 'job_queue_jobs{state="waiting"}')).toBe(0);
  });
});

describe.skipIf(!(await redisAvailable()))('stalled jobs (BullMQ)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts a job whose lock was lost (its worker died) when it is taken back', async () => {
    const queue = createBullJobQueue(REDIS_URL, prefix, { lockDurationMs: 1000 });
    const registry = new Registry();
    const metrics = registerJobQueueMetrics(registry, queue);
    const runs = heldRuns();
    const consumer = queue.consume(metrics.timed(runs.run), { onStalled: metrics.countStall });
    try {
      const jobId = randomUUID();
      await queue.enqueue(jobId);
      await expect.poll(() => runs.releases.has(jobId)).toBe(true);
      expect(sample(await registry.metrics(), 'job_stalled_total')).toBe(0);
      // What a dead worker leaves: an active job whose lock nobody renews.
      await redis.del(`${prefix}:jobs:${jobId}:lock`);
      await expect.poll(async () => sample(await registry.metrics(), 'job_stalled_total')).toBe(1);
    } finally {
      await consumer.close();
      await queue.close();
    }
  });
});

/** A Redis server of this test's own on `port` (which it may stop), resolved once it accepts connections. */
function startRedisServer(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    server.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve(server);
    });
    server.on('exit', () => reject(new Error(`redis-server exited: ${output}`)));
  });
}

describe.skipIf(!(await redisAvailable()))('queue metrics while Redis is down', () => {
  it('answers the scrape without the queue counts (unknown, not 0), and has them again once Redis is back', async () => {
    const port = await freePort();
    let server = await startRedisServer(port);
    const queue = createBullJobQueue(`redis://127.0.0.1:${port}`, 'pi-test-down');
    try {
      const registry = new Registry();
      registerJobQueueMetrics(registry, queue);
      await queue.enqueue(randomUUID());
      expect(sample(await registry.metrics(), 'job_queue_jobs{state="waiting"}')).toBe(1);

      const stopped = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await stopped;
      const down = await registry.metrics();
      expect(down).not.toMatch(/^job_queue_jobs\{/m);
      expect(sample(down, 'job_stalled_total')).toBe(0);

      // Nothing was saved: the restarted server has an empty queue.
      server = await startRedisServer(port);
      await expect.poll(async () => sample(await registry.metrics(), 'job_queue_jobs{state="waiting"}')).toBe(0);
    } finally {
      await queue.close();
      server.kill('SIGKILL');
    }
  });
});

describeEachDialect('webhook backlog metrics on %s', (dialect) => {
  let store: TestStore;
  let runtime: Runtime;
  let app: FastifyInstance;
  beforeAll(async () => {
    store = await createTestStore(dialect);
    // No dispatcher: what is committed stays in the backlog.
    runtime = await openRuntime(testConfig(store, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }), undefined, { runWebhookDispatcher: false });
    app = await buildApp(runtime);
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await store?.drop();
  });

  it('shows undispatched events, pending deliveries, their age and the delivery lag', async () => {
    const metrics = async () => (await app.inject('/metrics')).body;
    const empty = await metrics();
    for (const series of [
      'outbox_events_undispatched',
      'outbox_oldest_undispatched_age_seconds',
      'webhook_deliveries_pending',
      'webhook_oldest_pending_delivery_age_seconds',
      'webhook_delivery_lag_seconds',
    ]) {
      expect(sample(empty, series), series).toBe(0);
    }
    expect(sample(empty, 'job_queue_jobs{state="waiting"}')).toBe(0);

    const webhook = await app.inject({ method: 'POST', url: '/api/webhooks', payload: { url: 'http://127.0.0.1:9/hook', events: ['product.created'] } });
    expect(webhook.statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'METRIC-1', name: 'counted' } })).statusCode).toBe(201);
    const now = Date.now();
    await runtime.database.db
      .insertInto('webhook_deliveries')
      .values({
        webhook_id: webhook.json().id,
        event_id: 'evt_metrics',
        event_type: 'product.created',
        attempt: 1,
        status: 'pending',
        created_at: new Date(now - 60_000).toISOString(),
        next_attempt_at: new Date(now - 30_000).toISOString(),
      })
      .execute();

    const backlog = await metrics();
    expect(sample(backlog, 'outbox_events_undispatched')).toBe(1);
    expect(sample(backlog, 'outbox_oldest_undispatched_age_seconds')).toBeLessThan(60);
    expect(sample(backlog, 'webhook_deliveries_pending')).toBe(1);
    expect(sample(backlog, 'webhook_oldest_pending_delivery_age_seconds')).toBeGreaterThanOrEqual(60);
    expect(sample(backlog, 'webhook_delivery_lag_seconds')).toBeGreaterThanOrEqual(30);
    expect(sample(backlog, 'webhook_delivery_lag_seconds')).toBeLessThan(60);
  });
});
