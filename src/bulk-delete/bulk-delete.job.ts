import type { JobKind, JobRunContext, JobOutcome } from '../jobs/jobs.kind.js';
import { findJob, saveJobProgress } from '../jobs/jobs.repository.js';
import { formatCount } from '../jobs/jobs.view.js';
import { countProducts, deleteProductChunk } from './bulk-delete.repository.js';

/** Products deleted per transaction: small enough to keep other writers waiting only briefly. */
const CHUNK_SIZE = 5000;

/**
 * Deletes every product, in chunks; each chunk commits together with the job's count,
 * so a restarted run goes on from there. `rows_total` (the denominator of percent) is
 * the catalog size when the job first started.
 */
export async function runBulkDelete(context: JobRunContext): Promise<JobOutcome> {
  const { db } = context.database;
  const job = await findJob(db, context.jobId);
  if (!job) throw new Error(`job ${context.jobId} not found`);
  let deleted = Number(job.rows_processed);
  let total = Number(job.rows_total);
  if (deleted === 0) {
    total = await countProducts(db);
    await saveJobProgress(db, context.jobId, { phase: 'deleting', rows_total: total }, new Date().toISOString());
  }
  context.onProgress({ phase: 'deleting', rows_total: total, rows_processed: deleted });
  for (;;) {
    if (await context.isCancelled()) return { status: 'cancelled' };
    const count = await db.transaction().execute(async (trx) => {
      const removed = await deleteProductChunk(trx, CHUNK_SIZE);
      if (removed > 0) await saveJobProgress(trx, context.jobId, { phase: 'deleting', rows_processed: deleted + removed }, new Date().toISOString());
      return removed;
    });
    if (count === 0) return { status: 'completed' };
    deleted += count;
    context.onProgress({ phase: 'deleting', rows_total: total, rows_processed: deleted });
  }
}

const deletedCount = (job: { rows_processed: number }) => `${formatCount(job.rows_processed)} products deleted`;

/** "Delete all" as a job: percent = products deleted / products at start; never retried. */
export const bulkDeleteJobKind: JobKind = {
  type: 'bulk_delete',
  run: runBulkDelete,
  measure: 'rows',
  wording: {
    name: 'Bulk delete',
    done: deletedCount,
    completed: (job) => `Bulk delete completed: ${deletedCount(job)}`,
    cancelled: (job) => `Bulk delete cancelled after ${deletedCount(job)}`,
  },
  finishedEvent: (job) => ({ type: 'products.bulk_deleted', data: { deleted: job.rows_processed } }),
};
