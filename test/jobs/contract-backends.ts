import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryProgressBus } from '../../src/jobs/jobs.progress-bus.memory.js';
import { createRedisProgressBus } from '../../src/jobs/jobs.progress-bus.redis.js';
import type { ProgressBus } from '../../src/jobs/jobs.progress-bus.js';
import { createBullJobQueue } from '../../src/jobs/jobs.queue.bullmq.js';
import { createEmbeddedJobQueue } from '../../src/jobs/jobs.queue.embedded.js';
import type { JobQueue } from '../../src/jobs/jobs.queue.js';
import { REDIS_URL, redisAvailable } from '../support/services.js';

// The back-ends of the queue and progress-bus interfaces, for their contract suites:
// in-process always; Redis when reachable (always in CI). Each Redis back-end works
// under a key prefix of its own and deletes its keys afterwards.

export interface Backend<T> {
  name: string;
  /** A fresh instance; with Redis, every instance of one backend shares the same prefix (like several nodes). */
  create(): T;
  cleanUp(): Promise<void>;
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const testPrefix = () => `pi-test-${randomBytes(5).toString('hex')}`;

export async function queueBackends(): Promise<Backend<JobQueue>[]> {
  const embedded: Backend<JobQueue> = {
    name: 'embedded',
    create: () => createEmbeddedJobQueue(),
    cleanUp: async () => undefined,
  };
  if (!(await redisAvailable())) return [embedded];
  const prefix = testPrefix();
  return [
    embedded,
    {
      name: 'bullmq',
      create: () => createBullJobQueue(REDIS_URL, prefix, { lockDurationMs: 2000, stalledIntervalMs: 1000 }),
      cleanUp: () => deleteKeys(prefix),
    },
  ];
}

export async function progressBusBackends(): Promise<(Backend<ProgressBus> & { shared: boolean })[]> {
  let memory: ProgressBus | null = null;
  const embedded = {
    name: 'memory',
    // One process: every "node" is the same bus.
    shared: true,
    create: () => (memory ??= createMemoryProgressBus()),
    cleanUp: async () => {
      await memory?.close();
      memory = null;
    },
  };
  if (!(await redisAvailable())) return [embedded];
  const prefix = testPrefix();
  return [embedded, { name: 'redis', shared: false, create: () => createRedisProgressBus(REDIS_URL, prefix), cleanUp: () => deleteKeys(prefix) }];
}
