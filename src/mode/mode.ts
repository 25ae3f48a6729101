import type { Config } from '../config.js';
import type { ProgressBus } from '../jobs/jobs.progress-bus.js';
import type { JobQueue } from '../jobs/jobs.queue.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import type { ReadinessCheck } from '../shared/readiness.js';
import type { Closable } from '../shared/shutdown.js';
import { openEmbeddedMode } from './mode.embedded.js';

/**
 * How the processes of an install share work: `embedded` (one process runs everything,
 * in-process queue and events) or `scaled` (API processes and `npm run worker` processes
 * share a BullMQ queue and pub/sub on Redis). `selectMode` is the one place that decides;
 * nothing else asks which mode it runs in.
 */
export interface Mode {
  name: 'embedded' | 'scaled';
  /** Where jobs wait, for the start-up line. */
  description: string;
  /** Whether jobs run only in `npm run worker` processes (scaled) rather than in the server (embedded). */
  jobsRunInWorkers: boolean;
  /** Opens the mode's connections; `runJobs` overrides whether this process consumes the queue. */
  open(options?: { runJobs?: boolean }): Promise<ModeParts>;
}

/** What a process of the mode works with. */
export interface ModeParts {
  jobQueue: JobQueue;
  /** Carries running jobs' updates to whoever streams them. */
  progressBus: ProgressBus;
  /** Wakes the webhook dispatchers (this process's; every process's in scaled mode) after outbox events were committed. */
  outboxSignal: OutboxSignal;
  /** /readyz checks besides the database (Redis in scaled mode). */
  readinessChecks: ReadinessCheck[];
  /** What the mode opened, in the order to close it (after this process's job consumers). */
  closables: Closable[];
  /** Whether this process takes jobs from the queue and runs them. */
  runsJobs: boolean;
}

type ModeConfig = Pick<Config, 'redisUrl' | 'redisPrefix' | 'jobLockTimeoutMs'>;

/** REDIS_URL unset = embedded; set = scaled. bullmq and ioredis are loaded only in scaled mode. */
export function selectMode(config: ModeConfig): Mode {
  const { redisUrl } = config;
  if (redisUrl === null) {
    return {
      name: 'embedded',
      description: 'in this process',
      jobsRunInWorkers: false,
      open: async ({ runJobs = true } = {}) => openEmbeddedMode(runJobs),
    };
  }
  return {
    name: 'scaled',
    description: `BullMQ on ${new URL(redisUrl).host}, prefix ${config.redisPrefix}`,
    jobsRunInWorkers: true,
    async open({ runJobs = false } = {}) {
      const { openScaledMode } = await import('./mode.scaled.js');
      return openScaledMode({ ...config, redisUrl }, runJobs);
    },
  };
}
