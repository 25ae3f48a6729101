import { Redis } from 'ioredis';
import { createRedisProgressBus } from '../jobs/jobs.progress-bus.redis.js';
import { createBullJobQueue } from '../jobs/jobs.queue.bullmq.js';
import { createRedisOutboxSignal } from '../outbox/outbox.signal.redis.js';
import type { ReadinessCheck } from '../shared/readiness.js';
import { once, type Closable } from '../shared/shutdown.js';
import type { ModeParts } from './mode.js';

// Loaded only in scaled mode: bullmq and ioredis cost tens of MB of code and heap.

interface ScaledConfig {
  redisUrl: string;
  redisPrefix: string;
  jobLockTimeoutMs: number;
}

/** Scaled mode: BullMQ on Redis, progress and outbox wake-ups over Redis pub/sub, Redis on /readyz. */
export async function openScaledMode(config: ScaledConfig, runsJobs: boolean): Promise<ModeParts> {
  const { redisUrl, redisPrefix } = config;
  const jobQueue = createBullJobQueue(redisUrl, redisPrefix, { lockDurationMs: config.jobLockTimeoutMs });
  const progressBus = createRedisProgressBus(redisUrl, redisPrefix);
  const outboxSignal = createRedisOutboxSignal(redisUrl, redisPrefix);
  const redisCheck = createRedisReadinessCheck(redisUrl);
  return {
    jobQueue,
    progressBus,
    outboxSignal,
    readinessChecks: [redisCheck],
    closables: [
      { name: 'job queue', close: () => jobQueue.close() },
      { name: 'progress bus', close: () => progressBus.close() },
      { name: 'outbox signal', close: () => outboxSignal.close() },
      { name: 'redis readiness check', close: () => redisCheck.close() },
    ],
    runsJobs,
  };
}

/** /readyz's Redis check, on a connection of its own (the others wait for Redis however long it takes). */
function createRedisReadinessCheck(url: string): ReadinessCheck & Closable {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false });
  client.on('error', () => undefined);
  let connecting: Promise<void> | null = null;
  return {
    name: 'redis',
    async check() {
      if (client.status === 'wait') connecting ??= client.connect();
      await connecting;
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`unexpected answer ${answer}`);
    },
    close: once(async () => {
      client.disconnect();
    }),
  };
}
