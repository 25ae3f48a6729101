import type { Kysely } from 'kysely';
import { isPostgres, timestampType } from './migration-helpers.js';

// Long operations (imports, bulk deletes), their crash-safe checkpoint, and rejected CSV rows.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  const counter = (name: string) => (table: any) => table.addColumn(name, 'bigint', (col: any) => col.notNull().defaultTo(0));
  let jobs = db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('phase', 'text')
    .addColumn('filename', 'text')
    .addColumn('file_path', 'text')
    .addColumn('file_sha256', 'text')
    .addColumn('gzip', 'integer', (col) => col.notNull().defaultTo(0));
  for (const name of [
    'bytes_total',
    'bytes_processed',
    'rows_total',
    'rows_processed',
    'inserted',
    'updated',
    'unchanged',
    'invalid',
    // Where a restarted worker resumes: the input offset just past the last committed row,
    // and the line number reached there (so error line numbers stay right after a resume).
    'checkpoint_offset',
    'checkpoint_line',
  ]) {
    jobs = counter(name)(jobs);
  }
  await jobs
    .addColumn('cancel_requested', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('warnings', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', timestampType(db), (col) => col.notNull())
    .addColumn('started_at', timestampType(db))
    .addColumn('finished_at', timestampType(db))
    .addColumn('updated_at', timestampType(db), (col) => col.notNull())
    .execute();
  await db.schema.createIndex('jobs_created_at_idx').on('jobs').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('jobs_status_idx').on('jobs').column('status').execute();

  await db.schema
    .createTable('job_errors')
    .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
      postgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
    )
    .addColumn('job_id', 'text', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('line', 'bigint', (col) => col.notNull())
    .addColumn('sku', 'text')
    .addColumn('field', 'text')
    .addColumn('message', 'text', (col) => col.notNull())
    // The raw CSV record, so the error report can be fixed and re-uploaded.
    .addColumn('raw', 'text')
    .execute();
  await db.schema.createIndex('job_errors_job_line_idx').on('job_errors').columns(['job_id', 'line']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_errors').execute();
  await db.schema.dropTable('jobs').execute();
}
