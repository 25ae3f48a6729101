import type { CompiledQuery } from 'kysely';
import type { PhaseClock } from '../shared/phase-clock.js';

// Where an import's validated batches go: one transaction per batch holding the products, the
// job's checkpoint and the batch's rejected rows. One implementation per dialect
// (import-sink.sqlite.ts, import-sink.postgres.ts), handed out by SqlDialect.openImportSink.

/** A product as the import writes it: validated, with its SKU key. */
export interface ImportedProduct {
  /** Trimmed. */
  sku: string;
  key: string;
  name: string;
  description: string | null;
  priceCents: number | null;
  active: 0 | 1;
}

/** A rejected row of the file, stored for the job's error report. */
export interface RejectedRow {
  line: number;
  sku: string | null;
  field: string | null;
  message: string;
  raw: string | null;
}

/** Which optional columns the file has: only those may change existing products. */
export interface PresentColumns {
  description: boolean;
  price: boolean;
  active: boolean;
}

export interface SinkBatch {
  /** The first row of each SKU key in the batch, in file order: counted against the database. */
  firsts: ImportedProduct[];
  /** For keys seen more than once in the batch, their last row: written after `firsts`, not counted here. */
  lasts: ImportedProduct[];
  errors: RejectedRow[];
}

/** The outcome of writing `firsts`: each is one of these. */
export interface WriteCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface ImportSink {
  /**
   * Writes the batch and, in the same transaction, the job's checkpoint: the statement
   * `checkpoint` returns for the counts the write produced (compiled by a Kysely of the same
   * dialect, so the sink runs it as it is). Resolves once committed.
   */
  commit(batch: SinkBatch, checkpoint: (counts: WriteCounts) => CompiledQuery): Promise<WriteCounts>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface SinkOptions {
  jobId: string;
  columns: PresentColumns;
  /**
   * Where the sink's time goes, by phase: `stage` (rows into the staging table), `merge` (the
   * upserts), `checkpoint` (the job's row and rejected rows), `commit` (begin and commit).
   */
  clock: PhaseClock;
  /** SQLite: the page cache of the import's connection (PostgreSQL's is the server's). */
  pageCacheKib: number;
  /** SQLite: the page cache of that connection's temporary database (the staging table). */
  tempCacheKib: number;
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
