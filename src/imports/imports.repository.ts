import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { JobsTable } from '../db/database.schema.js';

// The job row as the pipeline reads it before starting. The per-batch writes (products,
// checkpoint, rejected rows) happen in the sinks, on the import's own connection.

export type ImportJobRow = Pick<
  Selectable<JobsTable>,
  | 'id'
  | 'file_path'
  | 'gzip'
  | 'bytes_total'
  | 'bytes_processed'
  | 'rows_processed'
  | 'inserted'
  | 'updated'
  | 'unchanged'
  | 'invalid'
  | 'checkpoint_offset'
  | 'checkpoint_line'
>;

export async function findImportJob(db: Db, jobId: string): Promise<ImportJobRow | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select([
      'id',
      'file_path',
      'gzip',
      'bytes_total',
      'bytes_processed',
      'rows_processed',
      'inserted',
      'updated',
      'unchanged',
      'invalid',
      'checkpoint_offset',
      'checkpoint_line',
    ])
    .where('id', '=', jobId)
    .executeTakeFirst();
  if (!row) return undefined;
  // bigint counters come back as strings from some drivers: make them numbers once, here.
  const numeric = (value: unknown) => Number(value);
  return {
    ...row,
    gzip: numeric(row.gzip),
    bytes_total: numeric(row.bytes_total),
    bytes_processed: numeric(row.bytes_processed),
    rows_processed: numeric(row.rows_processed),
    inserted: numeric(row.inserted),
    updated: numeric(row.updated),
    unchanged: numeric(row.unchanged),
    invalid: numeric(row.invalid),
    checkpoint_offset: numeric(row.checkpoint_offset),
    checkpoint_line: numeric(row.checkpoint_line),
  };
}

export async function saveJobStart(db: Db, jobId: string, warnings: string[], now: string): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ warnings: JSON.stringify(warnings), phase: 'parsing', updated_at: now })
    .where('id', '=', jobId)
    .execute();
}
