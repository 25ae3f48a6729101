import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { ReadinessCheck } from '../operations/operations.routes.js';
import { once, type Closable } from '../shared/shutdown.js';
import type { ProgressBus } from './jobs.progress-bus.js';
import { createMemoryProgressBus } from './jobs.progress-bus.memory.js';
import { createRedisProgressBus } from './jobs.progress-bus.redis.js';
import { createBullJobQueue, type BullJobQueueOptions } from './jobs.queue.bullmq.js';
import { createEmbeddedJobQueue } from './jobs.queue.embedded.js';
import type { JobQueue } from './jobs.queue.js';

type RedisConfig = Pick<Config, 'redisUrl' | 'redisPrefix'>;

// The one place that picks the queue and the progress bus from configuration:
// REDIS_URL unset = in this process; set = BullMQ and Redis pub/sub.

export function createJobQueue(config: RedisConfig, options: BullJobQueueOptions = {}): JobQueue {
  return config.redisUrl ? createBullJobQueue(config.redisUrl, config.redisPrefix, options) : createEmbeddedJobQueue();
}

export function createProgressBus(config: RedisConfig): ProgressBus {
  return config.redisUrl ? createRedisProgressBus(config.redisUrl, config.redisPrefix) : createMemoryProgressBus();
}

/** /readyz's Redis check (scaled mode), on a connection of its own. */
export function createRedisReadinessCheck(url: string): ReadinessCheck & Closable {
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
