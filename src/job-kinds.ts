import type { DatabaseConfig } from './config.js';
import { bulkDeleteJobKind } from './bulk-delete/bulk-delete.job.js';
import { importJobKind } from './imports/imports.job.js';
import { registerJobKinds } from './jobs/jobs.kind.js';
import { createJobThreadPool, type JobThreadPool } from './jobs/jobs.thread-pool.js';
import { threadModule } from './shared/threads.js';

/** Every type of job, each defined in its feature's folder: the API, the runners and the job threads use this one list. */
export const jobKinds = registerJobKinds([importJobKind, bulkDeleteJobKind]);

/** The module a job thread starts with (job-thread.ts, compiled or not, as this module is). */
const JOB_THREAD_MODULE = threadModule(import.meta.url, 'job-thread');

/** The worker threads that run this process's jobs, each serving `jobKinds`. */
export function openJobThreads(databaseConfig: DatabaseConfig, memoryMb: number): JobThreadPool {
  return createJobThreadPool(databaseConfig, { entry: JOB_THREAD_MODULE, memoryMb });
}
