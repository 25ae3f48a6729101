import { once } from '../shared/shutdown.js';
import type { ConsumeOptions, JobConsumer, JobQueue, RunJob, RunOutcome } from './jobs.queue.js';

interface Consumer extends JobConsumer {
  pull(): void;
}

/** Embedded mode: a FIFO in this process (unfinished jobs are enqueued again from the jobs table at start). */
export function createEmbeddedJobQueue(): JobQueue {
  const waiting: string[] = [];
  /** Waiting or running: enqueueing them again is a no-op. */
  const known = new Set<string>();
  const consumers = new Set<Consumer>();
  let active = 0;
  const dispatch = () => {
    for (const consumer of consumers) consumer.pull();
  };

  function consume(run: RunJob, { concurrency = 1, onError }: ConsumeOptions = {}): JobConsumer {
    const running = new Map<Promise<void>, AbortController>();
    let closed = false;
    const consumer: Consumer = {
      pull() {
        while (!closed && running.size < concurrency && waiting.length > 0) {
          const jobId = waiting.shift() as string;
          const controller = new AbortController();
          active += 1;
          const task: Promise<void> = run(jobId, controller.signal)
            .catch((error: unknown): RunOutcome => {
              onError?.(jobId, error);
              return 'finished';
            })
            .then((outcome) => {
              active -= 1;
              running.delete(task);
              if (outcome === 'interrupted') waiting.unshift(jobId);
              else known.delete(jobId);
              dispatch();
            });
          running.set(task, controller);
        }
      },
      close: once(async () => {
        closed = true;
        consumers.delete(consumer);
        for (const controller of running.values()) controller.abort();
        await Promise.all(running.keys());
      }),
    };
    consumers.add(consumer);
    consumer.pull();
    return consumer;
  }

  return {
    async enqueue(jobId) {
      if (known.has(jobId)) return;
      known.add(jobId);
      waiting.push(jobId);
      dispatch();
    },
    async discard(jobId) {
      const index = waiting.indexOf(jobId);
      if (index < 0) return;
      waiting.splice(index, 1);
      known.delete(jobId);
    },
    async counts() {
      return { waiting: waiting.length, active, delayed: 0 };
    },
    consume,
    close: once(async () => {
      waiting.length = 0;
      known.clear();
    }),
  };
}
