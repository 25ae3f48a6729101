import { sql, type Insertable, type Selectable } from 'kysely';
import {
  JOB_COUNTERS,
  type Executor,
  type JobErrorsTable,
  type JobProgress,
  type JobStatus,
  type JobType,
  type JobsTable,
} from '../db/database.schema.js';

export type JobRow = Selectable<JobsTable>;
export type JobErrorRow = Selectable<JobErrorsTable>;
export type NewJobRow = Omit<Insertable<JobsTable>, 'created_at' | 'updated_at' | 'status'>;

const UNFINISHED: JobStatus[] = ['queued', 'running'];

export function insertJob(db: Executor, job: NewJobRow, now: string): Promise<JobRow> {
  return db
    .insertInto('jobs')
    .values({ ...job, status: 'queued', created_at: now, updated_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findJob(db: Executor, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listJobs(db: Executor, filter: { type?: JobType; status?: JobStatus; limit: number }): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll();
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.status) query = query.where('status', '=', filter.status);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** The ids of jobs that should be running: queued, or running when their process stopped. Oldest first. */
export async function unfinishedJobIds(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('jobs').select('id').where('status', 'in', UNFINISHED).orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => row.id);
}

/**
 * Takes a queued job (or one whose runner died) for a new run: status running, one more
 * attempt. The attempt number identifies this run; a later claim supersedes it.
 */
export function claimJob(db: Executor, id: string, now: string): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'running',
      attempts: eb('attempts', '+', 1),
      started_at: sql<string>`coalesce(started_at, ${now})`,
      error: null,
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('status', 'in', UNFINISHED)
    .returningAll()
    .executeTakeFirst();
}

/** What a running job checks between batches. */
export function findJobControl(db: Executor, id: string): Promise<{ status: JobStatus; cancel_requested: number; attempts: number } | undefined> {
  return db.selectFrom('jobs').select(['status', 'cancel_requested', 'attempts']).where('id', '=', id).executeTakeFirst();
}

export interface JobEnding {
  status: Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;
  error: string | null;
  /** The stored upload is no longer needed (the import completed). */
  forgetFile: boolean;
}

/**
 * Writes a job's final state, only while it is still `status`/`attempt` as expected, so
 * a superseded run or a second cancel cannot end a job twice. Undefined when it was not.
 */
export function finishJob(
  db: Executor,
  id: string,
  expected: { status: JobStatus; attempt?: number },
  ending: JobEnding,
  now: string,
): Promise<JobRow | undefined> {
  let query = db
    .updateTable('jobs')
    .set({
      status: ending.status,
      error: ending.error,
      phase: null,
      finished_at: now,
      updated_at: now,
      ...(ending.forgetFile ? { file_path: null } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', expected.status);
  if (expected.attempt !== undefined) query = query.where('attempts', '=', expected.attempt);
  return query.returningAll().executeTakeFirst();
}

/** Asks a running job to stop at its next batch boundary. */
export async function requestCancel(db: Executor, id: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ cancel_requested: 1, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A run stopped because its process is shutting down: queued again, to resume from its checkpoint. */
export async function releaseJob(db: Executor, id: string, attempt: number, now: string): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ status: 'queued', updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('attempts', '=', attempt)
    .execute();
}

/**
 * A failed or cancelled job queued again, to go on from its checkpoint: only while it is still
 * finished that way with the stored file its retry rule was checked with.
 */
export function requeueForRetry(db: Executor, checked: Pick<JobRow, 'id' | 'file_path'>, now: string): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({ status: 'queued', error: null, finished_at: null, cancel_requested: 0, updated_at: now })
    .where('id', '=', checked.id)
    .where('status', 'in', ['failed', 'cancelled'])
    .where('file_path', checked.file_path === null ? 'is' : '=', checked.file_path)
    .returningAll()
    .executeTakeFirst();
}

/**
 * The one writer of a running job's progress and checkpoint: its phase and the counters given.
 * Executed here (saveJobProgress), or compiled into a batch's transaction by the import's sink.
 */
export function jobProgressUpdate(db: Executor, id: string, progress: JobProgress, now: string) {
  const counters = JOB_COUNTERS.filter((column) => progress[column] !== undefined).map((column) => [column, progress[column]]);
  return db
    .updateTable('jobs')
    .set({ phase: progress.phase, ...Object.fromEntries(counters), updated_at: now })
    .where('id', '=', id);
}

export async function saveJobProgress(db: Executor, id: string, progress: JobProgress, now: string): Promise<void> {
  await jobProgressUpdate(db, id, progress, now).execute();
}

/** Failed or cancelled jobs whose stored file has outlived the retention period. */
export function findExpiredUploads(db: Executor, finishedBefore: string): Promise<{ id: string; file_path: string | null }[]> {
  return db
    .selectFrom('jobs')
    .select(['id', 'file_path'])
    .where('status', 'in', ['failed', 'cancelled'])
    .where('file_path', 'is not', null)
    .where('finished_at', '<', finishedBefore)
    .execute();
}

export async function forgetUpload(db: Executor, id: string, now: string): Promise<void> {
  await db.updateTable('jobs').set({ file_path: null, updated_at: now }).where('id', '=', id).execute();
}

export function listJobErrors(db: Executor, jobId: string, page: { limit: number; offset: number }): Promise<JobErrorRow[]> {
  return db
    .selectFrom('job_errors')
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('line')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
}

export function streamJobErrors(db: Executor, jobId: string): AsyncIterable<JobErrorRow> {
  return db.selectFrom('job_errors').selectAll().where('job_id', '=', jobId).orderBy('line').orderBy('id').stream(1000);
}

// --- retention and kept upload files -------------------------------------------------------

const FINISHED: JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Rejected rows of jobs that finished before `finishedBefore`, at most `limit` of them; how many. */
export async function deleteExpiredJobErrors(db: Executor, finishedBefore: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('job_errors')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('job_errors')
        .innerJoin('jobs', 'jobs.id', 'job_errors.job_id')
        .select('job_errors.id')
        .where('jobs.status', 'in', FINISHED)
        .where('jobs.finished_at', '<', finishedBefore)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Jobs that finished before `finishedBefore` and have no rejected rows left, at most `limit`; how many. */
export async function deleteExpiredJobs(db: Executor, finishedBefore: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('jobs as expired')
        .select('expired.id')
        .where('expired.status', 'in', FINISHED)
        .where('expired.finished_at', '<', finishedBefore)
        .where((inner) => inner.not(inner.exists(inner.selectFrom('job_errors').select('job_errors.id').whereRef('job_errors.job_id', '=', 'expired.id'))))
        .limit(limit),
    )
    .where('status', 'in', FINISHED)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** How many uploaded files the jobs keep (waiting, running, or kept for a retry), and their bytes. */
export async function keptUploadTotals(db: Executor): Promise<{ files: number; bytes: number }> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => [eb.fn.countAll<number>().as('files'), eb.fn.coalesce(eb.fn.sum<number>('bytes_total'), eb.lit(0)).as('bytes')])
    .where('file_path', 'is not', null)
    .executeTakeFirstOrThrow();
  return { files: Number(row.files), bytes: Number(row.bytes) };
}

/** The files of failed or cancelled imports (kept only for a retry), the longest finished first. */
export function oldestRetryableUploads(db: Executor, limit: number): Promise<{ id: string; file_path: string | null; bytes_total: number }[]> {
  return db
    .selectFrom('jobs')
    .select(['id', 'file_path', 'bytes_total'])
    .where('status', 'in', ['failed', 'cancelled'])
    .where('file_path', 'is not', null)
    .orderBy('finished_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Whether some job is running now (a read: the retention task gives way to it). */
export async function hasRunningJob(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('jobs').select('id').where('status', '=', 'running').limit(1).executeTakeFirst();
  return row !== undefined;
}
