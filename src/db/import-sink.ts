import type { CompiledQuery } from 'kysely';
import type { MemoryShares } from '../config.js';
import type { PhaseClock } from '../shared/phase-clock.js';

// Where an import's validated batches go: transactions holding a batch's products (or several
// batches'), the job's checkpoint after them and their rejected rows. One implementation per dialect
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
  /** The file's records the batch covers (valid or not). */
  rows: number;
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

/** The job's checkpoint after a batch, as the sink saves it with the batch's products. */
export interface BatchCheckpoint {
  /**
   * The statement saving the checkpoint, for the counts of the batch's `firsts` (compiled by a
   * Kysely of the same dialect, so the sink runs it as it is), run in the transaction that writes
   * the batch. A sink that writes several batches in one transaction calls each one's, in order,
   * and runs the last; it may give the transaction's counts all to the last one (only their sum
   * is ever saved).
   */
  statement(counts: WriteCounts): CompiledQuery;
  /** Called once that transaction has committed. */
  committed(): void;
}

export interface ImportSink {
  /**
   * Takes the next batch. SQLite stages it in a scratch file for its writer thread, which writes it
   * in one transaction with its checkpoint while the next batch is parsed. PostgreSQL stages it,
   * and once the staged batches hold SinkOptions.mergeRows records writes them together in one
   * transaction with the last one's checkpoint, while the next ones are staged on a second
   * connection. Resolves once the sink can take another batch; rejects with
   * the error of a write that failed.
   */
  write(batch: SinkBatch, checkpoint: BatchCheckpoint): Promise<void>;
  /** Writes what is staged; resolves once every batch taken is committed. */
  flush(): Promise<void>;
  /** Waits for a write in progress to end (committed or rolled back), drops what is staged. Idempotent. */
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
  /**
   * The run's memory (IMPORT_MEMORY_MB as importMemoryShares shares it). SQLite: the page caches
   * of the import's connection and of its temporary database; PostgreSQL's caches are the server's.
   */
  memory: MemoryShares;
  /** PostgreSQL: records of the file staged before they are written together (each SKU once). */
  mergeRows: number;
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
