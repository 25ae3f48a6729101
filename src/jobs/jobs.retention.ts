import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '../db/database.js';
import type { RetentionTask } from '../shared/retention.js';
import {
  deleteExpiredJobErrors,
  deleteExpiredJobs,
  findExpiredUploads,
  hasRunningJob,
  findJob,
  forgetUpload,
  keptUploadTotals,
  oldestRetryableUploads,
} from './jobs.repository.js';

/** Files younger than this may belong to an upload still being received. */
const ORPHAN_MIN_AGE_MS = 3_600_000;
/** Rows deleted per statement: each holds the database's write lock only briefly. */
const PRUNE_BATCH = 1000;
/** Kept files looked at per eviction step. */
const EVICT_BATCH = 100;
const DAY_MS = 86_400_000;

export interface KeptUploadLimits {
  maxFiles: number;
  maxBytes: number;
}

/** Deletes the stored files of failed or cancelled imports older than the retention period; returns how many. */
export async function deleteExpiredUploads(database: Database, retentionHours: number, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - retentionHours * 3_600_000).toISOString();
  const expired = await findExpiredUploads(database.db, before);
  for (const { id, file_path } of expired) {
    if (file_path) await rm(file_path, { force: true });
    await forgetUpload(database.db, id, now.toISOString());
  }
  return expired.length;
}

/**
 * Deletes stored files that no job refers to (older than an hour): an upload cut off by a
 * crash, a completed import's file when the process died between its commit and the
 * delete, or the file of a job the retention deleted.
 */
export async function deleteOrphanUploads(database: Database, uploadDir: string, now = Date.now()): Promise<number> {
  const names = await readdir(uploadDir).catch(() => [] as string[]);
  let deleted = 0;
  for (const name of names) {
    const file = path.join(uploadDir, name);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile() || now - info.mtimeMs < ORPHAN_MIN_AGE_MS) continue;
    const jobId = name.split('.')[0] ?? '';
    const job = /^[0-9a-f-]{36}$/.test(jobId) ? await findJob(database.db, jobId) : undefined;
    if (job?.file_path === file) continue;
    await rm(file, { force: true });
    deleted++;
  }
  return deleted;
}

/**
 * Lets go of the files of failed or cancelled imports, the longest finished first, until
 * the kept files plus `incoming` (uploads being received) fit the limits; one step of at
 * most EVICT_BATCH files. Those imports can then no longer be retried. Returns how many.
 */
export async function evictKeptUploads(
  database: Database,
  limits: KeptUploadLimits,
  incoming: { files: number; bytes: number } = { files: 0, bytes: 0 },
): Promise<number> {
  const kept = await keptUploadTotals(database.db);
  let excessFiles = kept.files + incoming.files - limits.maxFiles;
  let excessBytes = kept.bytes + incoming.bytes - limits.maxBytes;
  if (excessFiles <= 0 && excessBytes <= 0) return 0;
  let evicted = 0;
  for (const { id, file_path, bytes_total } of await oldestRetryableUploads(database.db, EVICT_BATCH)) {
    if (excessFiles <= 0 && excessBytes <= 0) break;
    if (file_path) await rm(file_path, { force: true });
    await forgetUpload(database.db, id, new Date().toISOString());
    excessFiles--;
    excessBytes -= Number(bytes_total);
    evicted++;
  }
  return evicted;
}

/** The retention task gives way while a job runs: on SQLite its deletes would wait for the import's write lock. */
export function anyJobRunning(database: Database): Promise<boolean> {
  return hasRunningJob(database.db);
}

/**
 * The jobs feature's retention: finished jobs after `jobsDays` (their rejected rows first,
 * a batch at a time, so a job with a million rejected rows never holds the write lock long),
 * then upload files: expired, past the kept limits, or orphaned.
 */
export function jobRetentionTasks(
  database: Database,
  settings: { jobsDays: number; uploadDir: string; uploadRetentionHours: number; keptUploads: KeptUploadLimits },
): RetentionTask[] {
  const before = (now: Date) => new Date(now.getTime() - settings.jobsDays * DAY_MS).toISOString();
  return [
    {
      name: 'finished jobs',
      async pruneBatch(now) {
        const errors = await deleteExpiredJobErrors(database.db, before(now), PRUNE_BATCH);
        return errors > 0 ? errors : deleteExpiredJobs(database.db, before(now), PRUNE_BATCH);
      },
    },
    { name: 'expired upload files', pruneBatch: (now) => deleteExpiredUploads(database, settings.uploadRetentionHours, now) },
    { name: 'upload files past the kept limits', pruneBatch: () => evictKeptUploads(database, settings.keptUploads) },
    // Runs again while it deletes some: the second look at the folder finds nothing more.
    { name: 'orphan upload files', pruneBatch: (now) => deleteOrphanUploads(database, settings.uploadDir, now.getTime()) },
  ];
}
