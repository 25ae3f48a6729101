import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '../db/database.js';
import { once, type Closable } from '../shared/shutdown.js';
import { findExpiredUploads, findJob, forgetUpload } from './jobs.repository.js';

/** Files younger than this may belong to an upload still being received. */
const ORPHAN_MIN_AGE_MS = 3_600_000;

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
 * crash, or a completed import's file when the process died between its commit and the delete.
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

/** Runs deleteExpiredUploads and deleteOrphanUploads now and then every `intervalMs`. */
export function startUploadRetention(
  database: Database,
  uploads: { uploadDir: string; uploadRetentionHours: number },
  onError: (error: unknown) => void,
  intervalMs = 3_600_000,
): Closable {
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = deleteExpiredUploads(database, uploads.uploadRetentionHours)
      .then(() => deleteOrphanUploads(database, uploads.uploadDir))
      .catch(onError);
  };
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    name: 'upload retention',
    close: once(async () => {
      clearInterval(timer);
      await running;
    }),
  };
}
