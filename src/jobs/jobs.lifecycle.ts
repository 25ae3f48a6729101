import { rm } from 'node:fs/promises';
import type { Database } from '../db/database.js';
import type { JobStatus } from '../db/database.schema.js';
import type { EventType } from '../outbox/outbox.events.js';
import { appendOutboxEvent } from '../outbox/outbox.repository.js';
import { finishJob, type JobEnding, type JobRow } from './jobs.repository.js';
import { toJob } from './jobs.view.js';

/**
 * The webhook event of a finished job: one per import (`import.completed`, or
 * `import.failed` for a failed or cancelled one: `status` says which) and one per
 * bulk delete (`products.bulk_deleted`, with how many products it removed).
 */
export function finishedJobEvent(row: JobRow): { type: EventType; data: Record<string, unknown> } {
  const job = toJob(row);
  const common = { job_id: job.id, status: job.status, error: job.error, started_at: job.started_at, finished_at: job.finished_at };
  if (row.type === 'bulk_delete') return { type: 'products.bulk_deleted', data: { ...common, deleted: job.rows_processed } };
  return {
    type: job.status === 'completed' ? 'import.completed' : 'import.failed',
    data: {
      ...common,
      filename: job.filename,
      file_sha256: job.file_sha256,
      rows_processed: job.rows_processed,
      inserted: job.inserted,
      updated: job.updated,
      unchanged: job.unchanged,
      invalid: job.invalid,
      warnings: job.warnings,
    },
  };
}

/**
 * Writes a job's final state and its webhook event in one transaction, if the job is
 * still as `expected` (undefined otherwise); a completed import's file is deleted after.
 */
export async function endJob(
  database: Database,
  jobId: string,
  expected: { status: JobStatus; attempt?: number },
  ending: JobEnding,
): Promise<JobRow | undefined> {
  const now = new Date().toISOString();
  // Read before the transaction, which then starts with its write: on SQLite a transaction that
  // reads first fails at once ("database is locked") if another connection (the search
  // indexer, an API write) committed in between, instead of waiting for the lock.
  const before = await database.db.selectFrom('jobs').select('file_path').where('id', '=', jobId).executeTakeFirst();
  const filePath = before?.file_path ?? null;
  const ended = await database.db.transaction().execute(async (trx) => {
    const row = await finishJob(trx, jobId, expected, ending, now);
    if (row) {
      const event = finishedJobEvent(row);
      await appendOutboxEvent(trx, event.type, event.data, now);
    }
    return row;
  });
  if (ended && ending.forgetFile && filePath) await rm(filePath, { force: true });
  return ended;
}
