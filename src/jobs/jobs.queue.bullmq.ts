import { Queue, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { once } from '../shared/shutdown.js';
import type { ConsumeOptions, JobConsumer, JobQueue, RunJob } from './jobs.queue.js';

const QUEUE_NAME = 'jobs';

export interface BullJobQueueOptions {
  /**
   * How long a worker holds a job without renewing its lock (renewed every half of it) before
   * the job counts as stalled (default 30 s).
   */
  lockDurationMs?: number;
  /**
   * How often workers look for stalled jobs (default half the lock duration: a dead worker's
   * job is then taken over 1 to 1.5 lock durations after its last renewal).
   */
  stalledIntervalMs?: number;
}

/**
 * Scaled mode: BullMQ on Redis. The BullMQ job id is our job id, so enqueueing a job
 * that is waiting or running is a no-op. A worker that dies loses its lock; BullMQ
 * then hands the job to another worker, which resumes it from its checkpoint.
 */
export function createBullJobQueue(url: string, prefix: string, options: BullJobQueueOptions = {}): JobQueue {
  const connections: Redis[] = [];
  const connect = () => {
    const connection = new Redis(url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined); // retried by ioredis; /readyz reports it
    connections.push(connection);
    return connection;
  };
  const queue = new Queue<{ jobId: string }>(QUEUE_NAME, { connection: connect(), prefix });
  queue.on('error', () => undefined);

  const lockDuration = options.lockDurationMs ?? 30_000;

  function consume(run: RunJob, { concurrency = 1, onError, onStalled }: ConsumeOptions = {}): JobConsumer {
    const running = new Set<AbortController>();
    const worker = new Worker<{ jobId: string }>(
      QUEUE_NAME,
      async (job, token) => {
        const controller = new AbortController();
        running.add(controller);
        try {
          const outcome = await run(job.data.jobId, controller.signal);
          if (outcome === 'interrupted') {
            // Back to the waiting list for another worker, without counting as a failed attempt.
            await job.moveToWait(token);
            throw new WaitingError();
          }
        } catch (error) {
          if (!(error instanceof WaitingError)) onError?.(job.data.jobId, error);
          throw error;
        } finally {
          running.delete(controller);
        }
      },
      {
        connection: connect(),
        prefix,
        concurrency,
        lockDuration,
        stalledInterval: options.stalledIntervalMs ?? Math.round(lockDuration / 2),
        maxStalledCount: 10,
      },
    );
    worker.on('error', () => undefined);
    if (onStalled) worker.on('stalled', (jobId: string) => onStalled(jobId));
    return {
      close: once(async () => {
        for (const controller of running) controller.abort();
        await worker.close();
      }),
    };
  }

  return {
    async enqueue(jobId) {
      await queue.add(
        'run',
        { jobId },
        { jobId, removeOnComplete: true, removeOnFail: true, attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
      );
    },
    async discard(jobId) {
      // BullMQ refuses to remove a job a worker holds (running): that one is left alone.
      await queue.remove(jobId).catch(() => undefined);
    },
    async counts() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
      return { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0 };
    },
    consume,
    close: once(async () => {
      await queue.close();
      await Promise.allSettled(connections.map((connection) => connection.quit()));
    }),
  };
}
