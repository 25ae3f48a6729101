import { rm } from 'node:fs/promises';
import type { Database } from '../db/database.js';
import type { JobStatus } from '../db/database.schema.js';
import type { EventType } from '../outbox/outbox.events.js';
import { appendOutboxEvent } from '../outbox/outbox.repository.js';
import type { JobKinds } from './jobs.kind.js';
import { finishJob, type JobEnding, type JobRow } from './jobs.repository.js';
import { toJob } from './jobs.view.js';

/**
 * The webhook event of a finished job: its kind names it and adds its own fields to the
 * ones every job's event has.
 */
export function finishedJobEvent(row: JobRow, kinds: JobKinds): { type: EventType; data: Record<string, unknown> } {
  const job = toJob(row, kinds);
  const common = { job_id: job.id, status: job.status, error: job.error, started_at: job.started_at, finished_at: job.finished_at };
  const event = kinds.of(row.type).finishedEvent(job);
  return { type: event.type, data: { ...common, ...event.data } };
}

/**
 * Writes a job's final state and its webhook event in one transaction, if the job is
 * still as `expected` (undefined otherwise); a completed job's stored file is deleted after.
 */
export async function endJob(
  database: Database,
  kinds: JobKinds,
  jobId: string,
  expected: { status: JobStatus; attempt?: number },
  ending: JobEnding,
): Promise<JobRow | undefined> {
  const now = new Date().toISOString();
  // Read before the transaction, so its first statement is the write: on SQLite a transaction that
  // reads first and then writes fails at once ("database is locked", no busy wait) when another
  // connection (a running import) committed in between. The path of an unfinished job does not change.
  const before = await database.db.selectFrom('jobs').select('file_path').where('id', '=', jobId).executeTakeFirst();
  const ended = await database.db.transaction().execute(async (trx) => {
    const row = await finishJob(trx, jobId, expected, ending, now);
    if (row) {
      const event = finishedJobEvent(row, kinds);
      await appendOutboxEvent(trx, event.type, event.data, now);
    }
    return row;
  });
  const filePath = before?.file_path ?? null;
  if (ended && ending.forgetFile && filePath) await rm(filePath, { force: true });
  return ended;
}
