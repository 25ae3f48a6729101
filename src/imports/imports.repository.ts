import type { Executor } from '../db/database.schema.js';
import { jobProgressUpdate } from '../jobs/jobs.repository.js';

// What the import writes to its job besides its progress. The per-batch writes (products,
// checkpoint, rejected rows) happen in the dialect's import sink, on the import's own connection.

/** The run began: phase `parsing`, and the warnings of the file's header (e.g. ignored columns). */
export async function saveJobStart(db: Executor, jobId: string, warnings: string[], now: string): Promise<void> {
  await jobProgressUpdate(db, jobId, { phase: 'parsing' }, now)
    .set({ warnings: JSON.stringify(warnings) })
    .execute();
}
