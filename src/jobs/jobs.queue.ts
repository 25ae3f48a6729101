/**
 * How a job run ends: `finished` (it reached a final state, or there was nothing to do)
 * or `interrupted` (its process is stopping: the job goes back to the queue and resumes
 * from its checkpoint in the next consumer).
 */
export type RunOutcome = 'finished' | 'interrupted';

/** Runs one job; `signal` aborts when the consumer closes (stop at the next batch boundary). */
export type RunJob = (jobId: string, signal: AbortSignal) => Promise<RunOutcome>;

export interface ConsumeOptions {
  /** Jobs run at the same time by this consumer (default 1). */
  concurrency?: number;
  /** A run that threw (a bug or an unreachable database); the job's own failures never get here. */
  onError?: (jobId: string, error: unknown) => void;
  /**
   * This consumer found a job whose runner stopped renewing its lock (its process died or
   * froze) and handed it back to the queue. Only a queue shared by processes has stalls.
   */
  onStalled?: (jobId: string) => void;
}

/** How many jobs are in each state of the queue, all consumers (all processes) together. */
export interface JobCounts {
  waiting: number;
  active: number;
  /** Waiting for a retry's backoff after a run threw. */
  delayed: number;
}

/**
 * Where jobs wait to run. Embedded mode: in-process (durable through the jobs table,
 * from which unfinished jobs are enqueued again at start). Scaled mode: BullMQ on Redis,
 * consumed by `npm run worker` processes on any machine, with stalled-job recovery.
 */
export interface JobQueue {
  /** Asks for the job to run; ignored while it is already waiting or running. */
  enqueue(jobId: string): Promise<void>;
  /**
   * Forgets a job that is still waiting (a queued job that was cancelled), so that a retry's
   * enqueue is not ignored as a repeat of the entry that would only find it cancelled.
   * A job already running is left alone.
   */
  discard(jobId: string): Promise<void>;
  /** For /metrics. */
  counts(): Promise<JobCounts>;
  /** Starts running waiting jobs in this process. */
  consume(run: RunJob, options?: ConsumeOptions): JobConsumer;
  /** Idempotent; close the consumers first. */
  close(): Promise<void>;
}

export interface JobConsumer {
  /** Stops taking jobs, interrupts the running ones and waits for them to stop. Idempotent. */
  close(): Promise<void>;
}
