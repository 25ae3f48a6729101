import { Redis } from 'ioredis';
import { once } from '../shared/shutdown.js';
import { LATEST_TTL_MS, type JobUpdateListener, type ProgressBus } from './jobs.progress-bus.js';
import type { Job } from './jobs.schemas.js';

interface Channel {
  listeners: Set<JobUpdateListener>;
  subscribed: Promise<unknown>;
}

/**
 * Scaled mode: Redis pub/sub, one channel per job, so the API node serving a stream
 * hears the worker (on any machine) running the job. The last update is also kept
 * under a key for a few seconds, for polling readers on any node.
 */
export function createRedisProgressBus(url: string, prefix: string): ProgressBus {
  const publisher = new Redis(url, { maxRetriesPerRequest: 3 });
  const subscriber = publisher.duplicate();
  // Connection problems are retried by ioredis and reported by /readyz; never crash on them.
  publisher.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  const channelOf = (jobId: string) => `${prefix}:progress:${jobId}`;
  const latestKeyOf = (jobId: string) => `${prefix}:progress-latest:${jobId}`;
  const channels = new Map<string, Channel>();

  subscriber.on('message', (channel: string, message: string) => {
    const jobId = channel.slice(channel.lastIndexOf(':') + 1);
    const set = channels.get(jobId)?.listeners;
    if (!set) return;
    let job: Job;
    try {
      job = JSON.parse(message) as Job;
    } catch {
      return;
    }
    for (const listener of set) listener(job);
  });

  return {
    async publish(job) {
      const message = JSON.stringify(job);
      await publisher.multi().set(latestKeyOf(job.id), message, 'PX', LATEST_TTL_MS).publish(channelOf(job.id), message).exec();
    },
    async subscribe(jobId, listener) {
      let entry = channels.get(jobId);
      if (!entry) {
        const created: Channel = { listeners: new Set(), subscribed: Promise.resolve() };
        // Redis down: the subscription fails, and the job's streams follow it on their poll of the
        // jobs table alone; the next stream opened subscribes again (a failure kept would be for ever).
        created.subscribed = subscriber.subscribe(channelOf(jobId)).catch(() => {
          if (channels.get(jobId) === created) channels.delete(jobId);
        });
        entry = created;
        channels.set(jobId, entry);
      }
      entry.listeners.add(listener);
      await entry.subscribed;
      return async () => {
        const current = channels.get(jobId);
        if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
        channels.delete(jobId);
        if (subscriber.status === 'ready') await subscriber.unsubscribe(channelOf(jobId)).catch(() => undefined);
      };
    },
    async latest(jobId) {
      const message = await publisher.get(latestKeyOf(jobId));
      return message ? (JSON.parse(message) as Job) : null;
    },
    close: once(async () => {
      channels.clear();
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    }),
  };
}
