import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryProgressBus } from '../../src/jobs/jobs.progress-bus.memory.js';
import { createRedisProgressBus } from '../../src/jobs/jobs.progress-bus.redis.js';
import type { ProgressBus } from '../../src/jobs/jobs.progress-bus.js';
import { createBullJobQueue } from '../../src/jobs/jobs.queue.bullmq.js';
import { createEmbeddedJobQueue } from '../../src/jobs/jobs.queue.embedded.js';
import type { JobQueue } from '../../src/jobs/jobs.queue.js';
import type { SuiteCase } from '../support/suites.js';
import { REDIS_URL, redisSkipReason } from '../support/services.js';

// The back-ends of the queue and progress-bus interfaces, for their contract suites:
// in-process always; Redis when reachable (always in CI; else its suite shows as skipped).
// Each Redis back-end works under a key prefix of its own and deletes its keys afterwards.

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

/** A back-end as a case of its contract suite (describeEach). */
const asCase = <T extends { name: string }>(backend: T, skipped: string | null = null): SuiteCase<T> => ({ name: backend.name, value: backend, skipped });

export async function queueBackends(): Promise<SuiteCase<Backend<JobQueue>>[]> {
  const embedded: Backend<JobQueue> = {
    name: 'embedded',
    create: () => createEmbeddedJobQueue(),
    cleanUp: async () => undefined,
  };
  const prefix = testPrefix();
  const bullmq: Backend<JobQueue> = {
    name: 'bullmq',
    create: () => createBullJobQueue(REDIS_URL, prefix, { lockDurationMs: 2000, stalledIntervalMs: 1000 }),
    cleanUp: () => deleteKeys(prefix),
  };
  return [asCase(embedded), asCase(bullmq, await redisSkipReason())];
}

export async function progressBusBackends(): Promise<SuiteCase<Backend<ProgressBus> & { shared: boolean }>[]> {
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
  const prefix = testPrefix();
  const redis = { name: 'redis', shared: false, create: () => createRedisProgressBus(REDIS_URL, prefix), cleanUp: () => deleteKeys(prefix) };
  return [asCase(embedded), asCase(redis, await redisSkipReason())];
}
