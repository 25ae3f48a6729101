import type { Worker } from 'node:worker_threads';
import { DEFAULT_IMPORT_MEMORY_MB, importMemoryShares, type DatabaseConfig } from '../config.js';
import { once } from '../shared/shutdown.js';
import { keptThreads, startThread as startWorker } from '../shared/threads.js';
import type { RunOutcome } from './jobs.queue.js';
import type { Job } from './jobs.schemas.js';

export type ThreadCommand = { type: 'run'; jobId: string } | { type: 'stop' } | { type: 'exit' };
export type ThreadMessage =
  | { type: 'update'; job: Job }
  | { type: 'claimed'; jobId: string; attempt: number }
  | { type: 'done'; jobId: string; outcome: RunOutcome }
  | { type: 'error'; jobId: string; message: string }
  | { type: 'connection-lost'; jobId: string; message: string; inARow: number }
  | { type: 'phases'; jobId: string; phases: Record<string, number> };

export interface ThreadRunOptions {
  publish(job: Job): void;
  /** The thread claimed the job as this attempt. */
  onClaimed(attempt: number): void;
  /** The run lost its database connection and waits to resume from its checkpoint (see executeJob). */
  onConnectionLoss?(message: string, inARow: number): void;
  /** Where a run's time went, per phase (JobRunContext.onPhases). */
  onPhases?(phases: Record<string, number>): void;
  /** Abort = stop at the next batch boundary; the thread is terminated if it has not stopped after the pool's stop timeout. */
  signal: AbortSignal;
}

export interface JobThreadPool {
  /** Runs one job in an idle thread (started when none is idle); rejects if the thread dies without finishing it. */
  run(jobId: string, options: ThreadRunOptions): Promise<RunOutcome>;
  /** Ends the idle threads (close the consumer first, so none is busy). Idempotent. */
  close(): Promise<void>;
}

interface JobThread {
  worker: Worker;
  /** The run in progress: settles it when its thread answers or dies. */
  current: { jobId: string; options: ThreadRunOptions; resolve(outcome: RunOutcome): void; reject(error: Error): void } | null;
  exited: Promise<void>;
}

/**
 * Worker threads that run jobs (see jobs.thread.ts). A thread is kept for the next job,
 * so its start-up (loading the code, opening the database) is paid once.
 */
export interface JobThreadPoolOptions {
  /** How long a stopping job may take to reach its batch boundary before its thread is terminated. */
  stopTimeoutMs?: number;
  /**
   * The module each thread runs: the composition root's (src/job-thread.ts, which serves the
   * registered job kinds); tests give another that speaks the same messages.
   */
  entry: URL;
  /** Each thread's memory budget in MiB (IMPORT_MEMORY_MB, shared as importMemoryShares says); default DEFAULT_IMPORT_MEMORY_MB. */
  memoryMb?: number;
}

export function createJobThreadPool(databaseConfig: DatabaseConfig, options: JobThreadPoolOptions): JobThreadPool {
  const { stopTimeoutMs = 20_000, entry, memoryMb = DEFAULT_IMPORT_MEMORY_MB } = options;
  const workerData = { databaseConfig, memoryMb };
  const memory = importMemoryShares(memoryMb);
  const resourceLimits = { maxYoungGenerationSizeMb: memory.youngGenerationMb, maxOldGenerationSizeMb: memory.heapMb };
  const threads = keptThreads(startThread);

  function startThread(): JobThread {
    const worker = startWorker(entry, { workerData, resourceLimits });
    let failure: Error | null = null;
    const thread: JobThread = {
      worker,
      current: null,
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    worker.on('message', (message: ThreadMessage) => {
      const current = thread.current;
      if (message.type === 'update') current?.options.publish(message.job);
      else if (message.type === 'claimed') {
        if (current?.jobId === message.jobId) current.options.onClaimed(message.attempt);
      } else if (message.type === 'connection-lost') {
        if (current?.jobId === message.jobId) current.options.onConnectionLoss?.(message.message, message.inARow);
      } else if (message.type === 'phases') {
        if (current?.jobId === message.jobId) current.options.onPhases?.(message.phases);
      } else if (current && message.jobId === current.jobId) {
        thread.current = null;
        if (message.type === 'done') current.resolve(message.outcome);
        else current.reject(new Error(message.message));
      }
    });
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', (code) => {
      threads.exited(thread);
      const current = thread.current;
      thread.current = null;
      if (!current) return;
      if (current.options.signal.aborted) current.resolve('interrupted');
      else current.reject(failure ?? new Error(`the job thread exited with code ${code}`));
    });
    return thread;
  }

  return {
    run(jobId, options) {
      const thread = threads.take();
      return new Promise<RunOutcome>((resolve, reject) => {
        const stop = () => {
          thread.worker.postMessage({ type: 'stop' } satisfies ThreadCommand);
          setTimeout(() => {
            if (thread.current?.jobId === jobId) void thread.worker.terminate();
          }, stopTimeoutMs).unref();
        };
        const settle = () => {
          options.signal.removeEventListener('abort', stop);
          threads.release(thread);
        };
        thread.current = {
          jobId,
          options,
          resolve: (outcome) => {
            settle();
            resolve(outcome);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
        };
        thread.worker.postMessage({ type: 'run', jobId } satisfies ThreadCommand);
        if (options.signal.aborted) stop();
        else options.signal.addEventListener('abort', stop, { once: true });
      });
    },
    close: once(async () => {
      const running = [...threads.all];
      for (const thread of running) {
        thread.worker.postMessage({ type: 'exit' } satisfies ThreadCommand);
        setTimeout(() => void thread.worker.terminate(), stopTimeoutMs).unref();
      }
      await Promise.all(running.map((thread) => thread.exited));
    }),
  };
}
