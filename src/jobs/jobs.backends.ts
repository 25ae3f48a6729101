import type { Config } from '../config.js';
import type { ReadinessCheck } from '../operations/operations.routes.js';
import { once, type Closable } from '../shared/shutdown.js';
import type { ProgressBus } from './jobs.progress-bus.js';
import { createMemoryProgressBus } from './jobs.progress-bus.memory.js';
import type { BullJobQueueOptions } from './jobs.queue.bullmq.js';
import { createEmbeddedJobQueue } from './jobs.queue.embedded.js';
import type { JobQueue } from './jobs.queue.js';

type RedisConfig = Pick<Config, 'redisUrl' | 'redisPrefix'>;
type QueueConfig = RedisConfig & Pick<Config, 'stalledJobTakeoverMs'>;

// The one place that picks the queue and the progress bus from configuration:
// REDIS_URL unset = in this process; set = BullMQ and Redis pub/sub.
// bullmq and ioredis (tens of MB of code and heap) are loaded only in scaled mode.

export async function createJobQueue(config: QueueConfig, options: BullJobQueueOptions = {}): Promise<JobQueue> {
  if (!config.redisUrl) return createEmbeddedJobQueue();
  const { createBullJobQueue } = await import('./jobs.queue.bullmq.js');
  // A dead worker's lock runs out within half the takeover time, and live workers look for
  // such stalled jobs every half: another worker has the job within the whole.
  const half = Math.floor(config.stalledJobTakeoverMs / 2);
  return createBullJobQueue(config.redisUrl, config.redisPrefix, { lockDurationMs: half, stalledIntervalMs: half, ...options });
}

export async function createProgressBus(config: RedisConfig): Promise<ProgressBus> {
  if (!config.redisUrl) return createMemoryProgressBus();
  const { createRedisProgressBus } = await import('./jobs.progress-bus.redis.js');
  return createRedisProgressBus(config.redisUrl, config.redisPrefix);
}

/** /readyz's Redis check (scaled mode), on a connection of its own. */
export async function createRedisReadinessCheck(url: string): Promise<ReadinessCheck & Closable> {
  const { Redis } = await import('ioredis');
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
