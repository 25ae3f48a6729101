import type { TaskContext, TaskOutcome } from '../jobs/jobs.executor.js';
import { findJob, updateJobCounters } from '../jobs/jobs.repository.js';
import { countProducts, deleteProductChunk } from './bulk-delete.repository.js';

/** Products deleted per transaction: small enough to keep other writers waiting only briefly. */
const CHUNK_SIZE = 5000;

/**
 * Deletes every product, in chunks; each chunk commits together with the job's count,
 * so a restarted run goes on from there. `rows_total` (the denominator of percent) is
 * the catalog size when the job first started.
 */
export async function runBulkDelete(context: TaskContext): Promise<TaskOutcome> {
  const { db } = context.database;
  const job = await findJob(db, context.jobId);
  if (!job) throw new Error(`job ${context.jobId} not found`);
  let deleted = Number(job.rows_processed);
  let total = Number(job.rows_total);
  if (deleted === 0) {
    total = await countProducts(db);
    await updateJobCounters(db, context.jobId, { rows_total: total, phase: 'deleting' }, new Date().toISOString());
  }
  context.onProgress({ phase: 'deleting', rows_total: total, rows_processed: deleted });
  for (;;) {
    if (await context.isCancelled()) return { status: 'cancelled' };
    const count = await db.transaction().execute(async (trx) => {
      const removed = await deleteProductChunk(trx, CHUNK_SIZE);
      if (removed > 0) await updateJobCounters(trx, context.jobId, { rows_processed: deleted + removed }, new Date().toISOString());
      return removed;
    });
    if (count === 0) return { status: 'completed' };
    deleted += count;
    context.onProgress({ phase: 'deleting', rows_total: total, rows_processed: deleted });
  }
}
