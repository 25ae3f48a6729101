import fs from 'node:fs/promises';
import { DEFAULT_IMPORT_MEMORY_MB, importMemoryShares } from '../config.js';
import { readJobCounters, type JobCounters, type JobProgress } from '../db/database.schema.js';
import type { ImportSink, RejectedRow, SinkBatch } from '../db/import-sink.js';
import type { JobOutcome, JobRunContext } from '../jobs/jobs.kind.js';
import { findJob, jobProgressUpdate } from '../jobs/jobs.repository.js';
import { PhaseClock } from '../shared/phase-clock.js';
import { CsvReader, MAX_RAW_TEXT_CHARS, type CsvRecord } from './imports.csv.js';
import { CsvFileError, ImportFailedError } from './imports.errors.js';
import { readHeaderRecord } from './imports.header.js';
import { saveJobStart } from './imports.repository.js';
import { isRowProblem, validateRecord, type ColumnMap, type ProductValues } from './imports.rows.js';
import { readCsvText, type SourceLimits } from './imports.source.js';

// The import of one stored CSV file into products:
//   file -> (gunzip) -> UTF-8 text -> CSV records -> header mapping -> row validation
//   -> batches (deduplicated by SKU key) -> sink: transactions holding a batch (SQLite) or the batches
//      staged since the last one (PostgreSQL), each with the job's checkpoint after them.
// The next batch is parsed while the sink takes the previous one.
//
// Counting is sequential: each valid row is counted as if the rows were applied one by one in
// file order: `inserted` when its SKU key is new, `updated` when it changes the product as it
// stands after the rows before it, `unchanged` when it does not. So a row superseded by a later
// row of the same SKU still counts once (its own outcome), and the counts do not depend on
// where batches start and end — a resumed import counts exactly as an uninterrupted one.

type ImportPhase = 'parsing' | 'importing' | 'finalizing';

/**
 * A job's progress as an import reports it: always these counters. `bytes_processed` is the
 * input consumed (of the stored file as uploaded, i.e. compressed bytes for .gz), for percent.
 */
export type ImportProgress = JobProgress &
  Pick<JobCounters, 'bytes_processed' | 'rows_processed' | 'inserted' | 'updated' | 'unchanged' | 'invalid'> & { phase: ImportPhase };

/**
 * A job's run context (the jobs row's file_path, gzip, bytes_total, checkpoint and counters say
 * where to resume; progress is reported at least every ~200 ms and after each committed batch),
 * with the import's own settings.
 */
export interface ImportRunContext extends JobRunContext {
  onProgress(progress: ImportProgress): void;
  /**
   * Rows (records) per batch, fixed. Default: the first batch is FIRST_BATCH_ROWS, the next ones
   * what the batch share of the run's memory holds (two batches at a time).
   */
  batchRows?: number;
  /**
   * Rows staged before the sink writes them together, after the first batch (written alone).
   * Default MERGE_ROWS, or with a fixed `batchRows` one batch per write.
   */
  mergeRows?: number;
  /** Guards for .csv.gz; default 10 GiB decompressed and a 200:1 ratio. */
  limits?: SourceLimits;
}

/** Where the import stands: what each committed batch writes to the jobs row with its products. */
interface ImportState extends JobCounters {
  phase: ImportPhase;
}

export { CsvFileError, ImportFailedError };

/** The first batch of a run, written alone: small, so that the first checkpoint and counts come early. */
export const FIRST_BATCH_ROWS = 20_000;
/**
 * What a row of a batch holds in the heap: its validated values and map entry (~220 bytes,
 * measured on the benchmark's catalog) and its share of the parsed text its strings point into.
 */
const BATCH_BYTES_PER_ROW = 400;
/**
 * PostgreSQL writes its staged batches together every this many rows, each SKU once, in one
 * transaction with the last batch's checkpoint: the fewer the writes, the fewer SKUs repeated
 * across them written twice and index walks (docs/imports.md, "PostgreSQL"); a crash redoes, and
 * a cancel waits for, one write (~2–3 s here). SQLite writes each batch.
 */
export const MERGE_ROWS = 200_000;
/** Rejected rows stored per job (the invalid count itself is never capped). */
export const MAX_STORED_ERRORS_PER_JOB = 10_000;
const PROGRESS_INTERVAL_MS = 200;

/** Throws ImportFailedError (message shown to users) when the file cannot be imported (e.g. gzip bomb, corrupt gzip, I/O). */
export async function importCsvFile(ctx: ImportRunContext): Promise<JobOutcome> {
  const clock = new PhaseClock();
  const startedAt = clock.now();
  try {
    return await importWithClock(ctx, clock);
  } finally {
    clock.add('total', startedAt);
    ctx.onPhases?.(clock.milliseconds());
  }
}

async function importWithClock(ctx: ImportRunContext, clock: PhaseClock): Promise<JobOutcome> {
  const startedAt = clock.now();
  const job = await findJob(ctx.database.db, ctx.jobId);
  if (!job) throw new ImportFailedError(`Import job ${ctx.jobId} does not exist.`);
  if (!job.file_path) throw new ImportFailedError('The job has no stored file to import.');
  const filePath = job.file_path;
  const gzip = job.gzip === 1;
  const bytesTotal = Number(job.bytes_total) > 0 ? Number(job.bytes_total) : await fileSize(filePath);

  let header;
  try {
    header = await readHeaderRecord(filePath, { gzip, limits: ctx.limits });
  } catch (error) {
    if (error instanceof CsvFileError) throw new ImportFailedError(error.message, { cause: error });
    throw error;
  }
  const counters = readJobCounters(job);
  const resuming = counters.checkpoint_offset > header.endOffset;
  const state: ImportState = {
    ...counters,
    phase: 'importing',
    checkpoint_offset: resuming ? counters.checkpoint_offset : header.endOffset,
    checkpoint_line: resuming ? counters.checkpoint_line : header.endLine,
  };

  const memory = importMemoryShares(ctx.memoryMb ?? DEFAULT_IMPORT_MEMORY_MB);
  const sink = await ctx.database.dialect.openImportSink({
    clock,
    memory,
    mergeRows: ctx.mergeRows ?? ctx.batchRows ?? MERGE_ROWS,
    jobId: ctx.jobId,
    columns: {
      description: header.columns.description !== null,
      price: header.columns.price !== null,
      active: header.columns.active !== null,
    },
  });
  const sizing: BatchSizing = ctx.batchRows
    ? { first: ctx.batchRows, rows: ctx.batchRows }
    : { first: FIRST_BATCH_ROWS, rows: Math.max(FIRST_BATCH_ROWS, Math.floor(memory.batchBytes / 2 / BATCH_BYTES_PER_ROW)) };
  const run = new ImportRun(ctx, sink, clock, header.columns, state, bytesTotal, sizing, gzip);
  try {
    // Saved once the sink is open (SQLite: a writer thread started): from here on, the job's next
    // write is its first batch.
    await saveJobStart(ctx.database.db, ctx.jobId, header.columns.warnings, new Date().toISOString());
    clock.add('start', startedAt);
    return await run.execute(filePath);
  } finally {
    await sink.close();
  }
}

async function fileSize(filePath: string): Promise<number> {
  try {
    return (await fs.stat(filePath)).size;
  } catch (error) {
    throw new ImportFailedError(`The uploaded file could not be read (${(error as Error).message}).`, { cause: error });
  }
}

/** Rows per batch: `first` for the first one, then `rows`. */
interface BatchSizing {
  first: number;
  rows: number;
}

/** A batch being filled by the parser. */
interface OpenBatch {
  rows: number;
  invalid: number;
  /** Counts of rows after the first of their key in this batch, decided here in memory. */
  updated: number;
  unchanged: number;
  firsts: ProductValues[];
  /** The latest row of each key in the batch. */
  latest: Map<string, ProductValues>;
  repeated: Set<string>;
  errors: RejectedRow[];
}

interface ClosedBatch {
  sinkBatch: SinkBatch;
  open: OpenBatch;
  endOffset: number;
  endLine: number;
  fileBytes: number;
  final: boolean;
}

class ImportRun {
  private reader: CsvReader;
  private batch: OpenBatch = newBatch();
  private closed: ClosedBatch[] = [];
  private fileBytesRead = 0;
  private storedErrors: number;
  private lastProgressAt = 0;
  private committedAny = false;
  /** Rows the batch being filled takes: the first batch's size until it is closed. */
  private batchRows: number;
  /** Milliseconds of the current push spent in take (validating and batching). */
  private validating = 0;

  constructor(
    private readonly ctx: ImportRunContext,
    private readonly sink: ImportSink,
    private readonly clock: PhaseClock,
    private readonly columns: ColumnMap,
    private readonly state: ImportState,
    private readonly bytesTotal: number,
    private readonly sizing: BatchSizing,
    private readonly gzip: boolean,
  ) {
    this.batchRows = sizing.first;
    this.reader = new CsvReader(state.checkpoint_offset, state.checkpoint_line);
    this.storedErrors = Math.min(state.invalid, MAX_STORED_ERRORS_PER_JOB);
    this.fileBytesRead = state.bytes_processed;
  }

  async execute(filePath: string): Promise<JobOutcome> {
    const clock = this.clock;
    const onRecord = (record: CsvRecord) => this.take(record);
    const waitForSink = (taking: Promise<unknown>) => clock.timeAsync('wait for sink', () => taking);
    const isCancelled = () => clock.timeAsync('cancel check', async () => this.ctx.isCancelled());
    // Hands the closed batches to the sink one after the other, each once the sink has taken the one
    // before (it writes them meanwhile); returns false when the job was cancelled meanwhile. The parser
    // waits for each, so the heap holds the batch being parsed and at most one waiting for the sink.
    const drain = async (): Promise<boolean> => {
      for (let next = this.closed.shift(); next; next = this.closed.shift()) {
        if (this.committedAny && (await isCancelled())) return false;
        await waitForSink(this.commit(next));
      }
      return true;
    };
    this.report('parsing');
    if (await isCancelled()) return { status: 'cancelled' };

    const chunks = readCsvText(filePath, { gzip: this.gzip, fromOffset: this.state.checkpoint_offset, limits: this.ctx.limits });
    try {
      for (;;) {
        const next = await clock.timeAsync('read', () => chunks.next());
        if (next.done) break;
        const chunk = next.value;
        if (chunk.fileBytesRead >= 0) this.fileBytesRead = Math.max(this.fileBytesRead, chunk.fileBytesRead);
        // Reading starts after the header (read separately, BOM and all).
        const parsing = clock.now();
        this.validating = 0;
        this.reader.push(chunk.text, onRecord);
        // What push took besides validating and batching its records (timed in take).
        clock.addMs('validate', this.validating);
        clock.addMs('parse', clock.now() - parsing - this.validating);
        if (!(await drain())) return { status: 'cancelled' };
        if (Date.now() - this.lastProgressAt >= PROGRESS_INTERVAL_MS) this.report(this.committedAny ? 'importing' : 'parsing');
      }
      clock.time('parse', () => this.reader.finish(onRecord));
    } finally {
      await chunks.return(undefined);
    }
    this.closeBatch(true);
    if (!(await drain())) return { status: 'cancelled' };
    await waitForSink(this.sink.flush());
    this.report('finalizing');
    return { status: 'completed' };
  }

  private take(record: CsvRecord): void {
    const startedAt = this.clock.now();
    this.takeRecord(record);
    this.validating += this.clock.now() - startedAt;
  }

  private takeRecord(record: CsvRecord): void {
    const batch = this.batch;
    batch.rows++;
    const result = validateRecord(record.fields, this.columns, record.malformed);
    if (isRowProblem(result)) {
      batch.invalid++;
      if (this.storedErrors < MAX_STORED_ERRORS_PER_JOB) {
        this.storedErrors++;
        batch.errors.push({
          line: record.line,
          ...result,
          sku: result.sku === null ? null : storableText(result.sku),
          raw: storableText(this.reader.lastRecordText(MAX_RAW_TEXT_CHARS)),
        });
      }
    } else {
      const previous = batch.latest.get(result.key);
      if (previous === undefined) {
        batch.firsts.push(result);
      } else {
        if (sameValues(previous, result)) batch.unchanged++;
        else batch.updated++;
        batch.repeated.add(result.key);
      }
      batch.latest.set(result.key, result);
    }
    if (batch.rows >= this.batchRows) this.closeBatch(false);
  }

  private closeBatch(final: boolean): void {
    const open = this.batch;
    this.batch = newBatch();
    this.batchRows = this.sizing.rows;
    this.closed.push({
      sinkBatch: {
        rows: open.rows,
        firsts: open.firsts,
        lasts: [...open.repeated].map((key) => open.latest.get(key) as ProductValues),
        errors: open.errors,
      },
      open,
      endOffset: this.reader.endOffset(),
      endLine: this.reader.endLine(),
      // Plain files: the exact offset; .gz: the compressed bytes read so far (slightly ahead).
      fileBytes: final ? this.bytesTotal : this.gzip ? Math.min(this.fileBytesRead, this.bytesTotal) : this.reader.endOffset(),
      final,
    });
  }

  private async commit(closed: ClosedBatch): Promise<void> {
    // The checkpoint keeps only figures: a sink that stages batches holds on to it, not to the rows.
    const { final, fileBytes, endOffset, endLine } = closed;
    const { rows, invalid, updated, unchanged } = closed.open;
    await this.sink.write(closed.sinkBatch, {
      statement: (counts) => {
        const state = this.state;
        state.phase = final ? 'finalizing' : 'importing';
        state.bytes_processed = Math.max(state.bytes_processed, fileBytes);
        state.rows_processed += rows;
        state.inserted += counts.inserted;
        state.updated += counts.updated + updated;
        state.unchanged += counts.unchanged + unchanged;
        state.invalid += invalid;
        state.checkpoint_offset = endOffset;
        state.checkpoint_line = endLine;
        return jobProgressUpdate(this.ctx.database.db, this.ctx.jobId, state, new Date().toISOString()).compile();
      },
      committed: () => this.report(final ? 'finalizing' : 'importing'),
    });
    // The first batch is written alone: its counts and checkpoint come within a second.
    if (!this.committedAny) await this.sink.flush();
    this.committedAny = true;
  }

  private report(phase: ImportPhase): void {
    const { bytes_processed, rows_processed, inserted, updated, unchanged, invalid } = this.state;
    this.lastProgressAt = Date.now();
    this.ctx.onProgress({ phase, bytes_processed, rows_processed, inserted, updated, unchanged, invalid });
  }
}

/**
 * A rejected row's text as it can be stored on both databases: PostgreSQL refuses NUL in text
 * (one such row used to fail the whole batch), so NUL is shown as U+2400 (␀); unpaired surrogates
 * (which the UTF-8 decoder never produces, but the text is checked anyway) become U+FFFD.
 */
/** With the u flag a surrogate class matches only a half without its pair. */
const UNPAIRED_SURROGATE = /\p{Cs}/gu;

function storableText(text: string): string {
  return text.replaceAll('\u0000', '\u2400').replace(UNPAIRED_SURROGATE, '\uFFFD');
}

function newBatch(): OpenBatch {
  return { rows: 0, invalid: 0, updated: 0, unchanged: 0, firsts: [], latest: new Map(), repeated: new Set(), errors: [] };
}

/** Whether `next` would leave a product written from `previous` as it is (same file, so same columns). */
function sameValues(previous: ProductValues, next: ProductValues): boolean {
  return (
    previous.sku === next.sku &&
    previous.name === next.name &&
    previous.description === next.description &&
    previous.priceCents === next.priceCents &&
    previous.active === next.active
  );
}
