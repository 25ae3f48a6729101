import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { scrapeRead } from '../shared/metrics.js';
import type { JobQueue, RunJob, RunOutcome } from './jobs.queue.js';

export interface JobRunMetrics {
  /** `run`, timed into the job-duration histogram by how it ended. */
  timed(run: RunJob): RunJob;
  /** Counts a stall this process's consumer found (pass as `onStalled`). */
  countStall(jobId: string): void;
}

/**
 * The queue's metrics: jobs waiting, active and delayed (the queue's, so every process
 * of an install reports the same numbers: aggregate them with max, not sum), and, in the
 * processes that run jobs, how long runs take and how many stalled jobs they took back.
 */
export function registerJobQueueMetrics(registry: Registry, queue: JobQueue): JobRunMetrics {
  const readCounts = scrapeRead(() => queue.counts());
  new Gauge({
    name: 'job_queue_jobs',
    help: 'Jobs in the queue by state (all processes together)',
    labelNames: ['state'] as const,
    registers: [registry],
    // Without an answer (Redis down) the series are dropped: unknown, not 0.
    async collect() {
      const counts = await readCounts();
      this.reset();
      for (const [state, count] of Object.entries(counts ?? {})) this.set({ state }, count);
    },
  });
  const durations = new Histogram({
    name: 'job_run_duration_seconds',
    help: 'Time from taking a job from the queue to its run ending (finished, interrupted by a shutdown, or error: the run threw and the queue retries it)',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const stalls = new Counter({
    name: 'job_stalled_total',
    help: 'Jobs whose worker stopped renewing their lock (died or froze), found by this process and handed back to the queue',
    registers: [registry],
  });
  return {
    timed: (run) => async (jobId, signal) => {
      const stop = durations.startTimer();
      let outcome: RunOutcome | 'error' = 'error';
      try {
        outcome = await run(jobId, signal);
        return outcome;
      } finally {
        stop({ outcome });
      }
    },
    countStall: () => stalls.inc(),
  };
}
