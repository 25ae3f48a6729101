import type { Database } from '../db/database.js';
import type { ProductValues } from './imports.rows.js';
import { openPostgresSink } from './imports.sink-postgres.js';
import { openSqliteSink } from './imports.sink-sqlite.js';
import type { ImportProgress } from './imports.pipeline.js';

// Where validated batches go: one transaction per batch holding the products, the job's
// checkpoint and counts, and the batch's rejected rows. One implementation per dialect,
// picked here; nothing above this file knows which database it writes to.

/** Which optional columns the file has: only those may change existing products. */
export interface PresentColumns {
  description: boolean;
  price: boolean;
  active: boolean;
}

export interface SinkBatch {
  /** The first row of each SKU key in the batch, in file order: counted against the database. */
  firsts: ProductValues[];
  /** For keys seen more than once in the batch, their last row: written after `firsts`, not counted here. */
  lasts: ProductValues[];
  errors: JobErrorRow[];
}

export interface JobErrorRow {
  line: number;
  sku: string | null;
  field: string | null;
  message: string;
  raw: string | null;
}

/** The outcome of writing `firsts`: each is one of these. */
export interface WriteCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** The job columns each batch updates, all in its transaction: its progress and where to resume. */
export interface JobCheckpoint extends ImportProgress {
  checkpoint_offset: number;
  checkpoint_line: number;
  updated_at: string;
}

export interface ImportSink {
  /**
   * Writes the batch and, in the same transaction, the job row returned by `checkpoint`
   * for the counts the write produced. Resolves once committed.
   */
  commit(batch: SinkBatch, checkpoint: (counts: WriteCounts) => JobCheckpoint): Promise<WriteCounts>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface SinkOptions {
  jobId: string;
  columns: PresentColumns;
}

export function openImportSink(database: Database, options: SinkOptions): Promise<ImportSink> {
  return database.config.dialect === 'sqlite'
    ? openSqliteSink(database.config.file, options)
    : openPostgresSink(database.config, options);
}

/** The product columns an upsert changes on an existing row: those the file has. */
export function updatedColumns(columns: PresentColumns): string[] {
  return [
    'sku',
    'name',
    ...(columns.description ? ['description'] : []),
    ...(columns.price ? ['price_cents'] : []),
    ...(columns.active ? ['active'] : []),
  ];
}
