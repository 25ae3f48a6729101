import type { Database } from '../db/database.js';
import { endJob } from './jobs.lifecycle.js';
import type { ProgressBus } from './jobs.progress-bus.js';
import type { JobQueue, RunJob } from './jobs.queue.js';
import { unfinishedJobIds } from './jobs.repository.js';
import { createJobThreadPool } from './jobs.thread-pool.js';
import { toJob } from './jobs.view.js';

/**
 * How a consumer runs a job, in both modes: in a worker thread of its own (its own
 * database connection), its updates published on the progress bus. A thread that dies
 * without finishing (a crash, not a failed import) fails its job rather than leave it running.
 */
export function createThreadJobRunner(database: Database, progress: ProgressBus): { run: RunJob; close(): Promise<void> } {
  const threads = createJobThreadPool(database.config);
  const publish = (job: Parameters<ProgressBus['publish']>[0]) => void progress.publish(job).catch(() => undefined);
  return {
    async run(jobId, signal) {
      try {
        return await threads.run(jobId, { publish, signal });
      } catch (error) {
        const message = `The job stopped unexpectedly (${error instanceof Error ? error.message : String(error)})`;
        const ended = await endJob(database, jobId, { status: 'running' }, { status: 'failed', error: message, forgetFile: false });
        if (ended) publish(toJob(ended));
        return 'finished';
      }
    },
    close: () => threads.close(),
  };
}

/** At start: jobs queued, or running when their process died, go back to the queue; they resume from their checkpoints. */
export async function resumeUnfinishedJobs(database: Database, queue: JobQueue): Promise<number> {
  const ids = await unfinishedJobIds(database.db);
  for (const id of ids) await queue.enqueue(id);
  return ids.length;
}
