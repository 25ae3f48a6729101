import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionLoss, type Database } from '../db/database.js';
import type { JobProgress } from '../db/database.schema.js';
import type { JobKinds, JobOutcome } from './jobs.kind.js';
import { endJob } from './jobs.lifecycle.js';
import type { RunOutcome } from './jobs.queue.js';
import { claimJob, findJobControl, releaseJob, type JobEnding, type JobRow } from './jobs.repository.js';
import type { Job } from './jobs.schemas.js';
import { RateTracker, remainingOf, toJob } from './jobs.view.js';

export interface ExecuteHooks {
  /** Each update of the job (throttled), then its final state. */
  publish(job: Job): void;
  /** Aborts when this process stops: the run then ends at the next batch boundary, to resume later. */
  signal: AbortSignal;
  /** The run claimed the job: `attempt` identifies it (a later claim by another run supersedes it). */
  onClaimed?(attempt: number): void;
  /** The run lost its database connection (`inARow`: how many times since its last committed batch) and waits for the database to resume. */
  onConnectionLoss?(error: unknown, inARow: number): void;
  /** Where a run's time went, per phase (JobRunContext.onPhases). */
  onPhases?(phases: Record<string, number>): void;
  /** The run's memory budget in MiB (JobRunContext.memoryMb). */
  memoryMb?: number;
}

/** How often a running job's state is published at most (the pipeline reports every ~200 ms). */
const PUBLISH_INTERVAL_MS = 150;

/** How long a job whose database connection was lost waits for the database to answer again before it fails. */
const RECONNECT_WAIT_MS = 60_000;

/** Lost connections in a row with no batch committed between them, after which the job fails. */
const MAX_LOSSES_WITHOUT_PROGRESS = 3;

/** Waits (with backoff) until the database answers; false after RECONNECT_WAIT_MS or when `signal` aborts. */
async function databaseAnswersAgain(database: Database, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + RECONNECT_WAIT_MS;
  for (let delayMs = 200; !signal.aborted && Date.now() < deadline; delayMs = Math.min(delayMs * 2, 5000)) {
    try {
      await database.ping();
      return true;
    } catch {
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
  return false;
}

function failureMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim() || 'The job stopped on an unexpected error';
}

/**
 * Runs one job to its end in this thread: claims it (status running, one more attempt),
 * runs it as its kind says, then writes its final state with its webhook event. A run whose process
 * is stopping leaves the job queued to resume from its checkpoint; a run superseded by a
 * newer claim of the same job (a stalled worker) stops without touching it.
 */
export async function executeJob(database: Database, jobId: string, kinds: JobKinds, hooks: ExecuteHooks): Promise<RunOutcome> {
  const claimed = await claimJob(database.db, jobId, new Date().toISOString());
  if (!claimed) return 'finished'; // already finished, or cancelled while queued
  const attempt = claimed.attempts;
  hooks.onClaimed?.(attempt);
  const finish = async (ending: JobEnding): Promise<RunOutcome> => {
    const ended = await endJob(database, kinds, jobId, { status: 'running', attempt }, ending);
    if (ended) hooks.publish(toJob(ended, kinds));
    return 'finished';
  };
  if (claimed.cancel_requested) return finish({ status: 'cancelled', error: null, forgetFile: false });

  const kind = kinds.of(claimed.type);
  const tracker = new RateTracker();
  let live: JobRow = claimed;
  let lastPublished = 0;
  const publishLive = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastPublished < PUBLISH_INTERVAL_MS) return;
    lastPublished = now;
    hooks.publish(toJob(live, kinds, tracker.rate(remainingOf(live, kind))));
  };
  tracker.sample(Number(claimed.rows_processed), Number(claimed.bytes_processed));
  publishLive(true);

  let superseded = false;
  const isCancelled = async () => {
    if (hooks.signal.aborted) return true;
    const control = await findJobControl(database.db, jobId);
    if (!control || control.status !== 'running' || control.attempts !== attempt) {
      superseded = true;
      return true;
    }
    return control.cancel_requested === 1;
  };
  const onProgress = (progress: JobProgress) => {
    live = { ...live, ...progress };
    tracker.sample(Number(live.rows_processed), Number(live.bytes_processed));
    publishLive(false);
  };

  const runTask = async (): Promise<JobOutcome> => {
    let lossesWithoutProgress = 0;
    let checkpointAtLastLoss = -1;
    for (;;) {
      try {
        return await kind.run({ database, jobId, onProgress, isCancelled, onPhases: hooks.onPhases, memoryMb: hooks.memoryMb });
      } catch (error) {
        if (!isConnectionLoss(error)) throw error;
        const checkpoint = Number(live.rows_processed);
        lossesWithoutProgress = checkpoint > checkpointAtLastLoss ? 1 : lossesWithoutProgress + 1;
        checkpointAtLastLoss = checkpoint;
        // A loss that recurs before any batch commits is not an outage the job can wait out
        // (the database answers, this job's own connection does not): fail it rather than loop.
        if (lossesWithoutProgress > MAX_LOSSES_WITHOUT_PROGRESS) throw error;
        hooks.onConnectionLoss?.(error, lossesWithoutProgress);
        if (!(await databaseAnswersAgain(database, hooks.signal))) throw error;
        // The batch in flight was rolled back with its checkpoint: go on from the checkpoint,
        // unless the job was taken over, cancelled or this process is stopping meanwhile.
        if (await isCancelled()) return { status: 'cancelled' };
      }
    }
  };

  let ending: JobEnding;
  try {
    const outcome = await runTask();
    if (superseded) return 'finished';
    if (outcome.status === 'completed') ending = { status: 'completed', error: null, forgetFile: true };
    else if (hooks.signal.aborted && !(await findJobControl(database.db, jobId))?.cancel_requested) {
      await releaseJob(database.db, jobId, attempt, new Date().toISOString());
      return 'interrupted';
    } else ending = { status: 'cancelled', error: null, forgetFile: false };
  } catch (error) {
    if (hooks.signal.aborted) {
      // Stopping mid-batch (the database may already be closing): the checkpoint has the rest.
      await releaseJob(database.db, jobId, attempt, new Date().toISOString()).catch(() => undefined);
      return 'interrupted';
    }
    ending = { status: 'failed', error: failureMessage(error), forgetFile: false };
  }
  return finish(ending);
}
