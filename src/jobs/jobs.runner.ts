import type { Database } from '../db/database.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import type { JobKinds } from './jobs.kind.js';
import { endJob } from './jobs.lifecycle.js';
import type { ProgressBus } from './jobs.progress-bus.js';
import type { JobQueue, RunJob } from './jobs.queue.js';
import { unfinishedJobIds } from './jobs.repository.js';
import type { JobThreadPool } from './jobs.thread-pool.js';
import { toJob } from './jobs.view.js';

/**
 * How a consumer runs a job, in both modes: in a worker thread of its own (its own
 * database connection), its updates published on the progress bus. A thread that dies
 * without finishing (a crash, not a failed import) fails its job rather than leave it
 * running, but only while the job is still this run's attempt: in scaled mode another
 * worker may have taken it over (a stalled run), and that run must go on.
 * A job that ended committed its webhook event in its thread: `outboxSignal` then wakes
 * the dispatchers rather than leave the event to their poll.
 */
export function createThreadJobRunner(
  database: Database,
  options: {
    kinds: JobKinds;
    threads: JobThreadPool;
    progress: ProgressBus;
    outboxSignal: OutboxSignal;
    /** A run lost its database connection and waits to go on from its checkpoint (for the log). */
    onConnectionLoss?: (jobId: string, message: string, inARow: number) => void;
    /** Where a run's time went, in milliseconds per phase (for the log). */
    onPhases?: (jobId: string, phases: Record<string, number>) => void;
  },
): { run: RunJob; close(): Promise<void> } {
  const { kinds, threads, progress, outboxSignal, onConnectionLoss, onPhases } = options;
  const publish = (job: Parameters<ProgressBus['publish']>[0]) => void progress.publish(job).catch(() => undefined);
  return {
    async run(jobId, signal) {
      let attempt: number | null = null;
      try {
        const outcome = await threads.run(jobId, {
          publish,
          signal,
          onClaimed: (claimed) => (attempt = claimed),
          onConnectionLoss: (message, inARow) => onConnectionLoss?.(jobId, message, inARow),
          onPhases: (phases) => onPhases?.(jobId, phases),
        });
        if (outcome === 'finished') outboxSignal.notify();
        return outcome;
      } catch (error) {
        // A thread that died before claiming the job never made it running: nothing of ours to end.
        if (attempt === null) return 'finished';
        const message = `The job stopped unexpectedly (${error instanceof Error ? error.message : String(error)})`;
        const ended = await endJob(database, kinds, jobId, { status: 'running', attempt }, { status: 'failed', error: message, forgetFile: false });
        if (ended) {
          publish(toJob(ended, kinds));
          outboxSignal.notify();
        }
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
