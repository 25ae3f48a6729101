import { access } from 'node:fs/promises';
import type { Database } from '../db/database.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { ConflictError, NotFoundError } from '../shared/http-errors.js';
import { endJob } from './jobs.lifecycle.js';
import type { ProgressBus } from './jobs.progress-bus.js';
import type { JobQueue } from './jobs.queue.js';
import {
  findJob,
  insertJob,
  listJobErrors,
  listJobs,
  requestCancel,
  requeueForRetry,
  streamJobErrors,
  type JobErrorRow,
  type JobRow,
  type NewJobRow,
} from './jobs.repository.js';
import type { Job, JobError, JobErrorsQuery, JobListQuery } from './jobs.schemas.js';
import { isFinished, toJob } from './jobs.view.js';

export interface JobsService {
  /** Records a new job (queued) and hands it to the queue. */
  start(job: NewJobRow): Promise<Job>;
  list(query: JobListQuery): Promise<Job[]>;
  /** The job as stored, with its live rate when running. */
  get(id: string): Promise<Job>;
  cancel(id: string): Promise<Job>;
  retry(id: string): Promise<Job>;
  errors(id: string, query: JobErrorsQuery): Promise<JobError[]>;
  /** Every rejected row, for the CSV error report: the file's columns and each row's cells. */
  exportErrors(id: string, write: (report: ErrorReport) => Promise<void>): Promise<void>;
}

export interface ErrorReport {
  header: string[];
  rows: AsyncIterable<(string | number | null)[]>;
}

/** How long a cancel waits for the running job to reach its next batch boundary before answering. */
const CANCEL_WAIT_MS = 2000;

export interface JobsServiceDeps {
  database: Database;
  queue: JobQueue;
  progress: ProgressBus;
  /** Wakes the webhook dispatchers after a cancel committed its event (without it, their poll finds it). */
  outboxSignal?: OutboxSignal;
}

export function createJobsService(deps: JobsServiceDeps): JobsService {
  const { database, queue, progress, outboxSignal } = deps;
  const { db } = database;

  async function findOrThrow(id: string): Promise<JobRow> {
    const row = await findJob(db, id);
    if (!row) throw new NotFoundError('Job');
    return row;
  }

  async function view(row: JobRow): Promise<Job> {
    if (row.status !== 'running') return toJob(row);
    const live = await progress.latest(row.id).catch(() => null);
    return toJob(row, live && live.status === 'running' ? live : null);
  }

  async function waitUntilFinished(id: string, timeoutMs: number): Promise<JobRow> {
    const deadline = Date.now() + timeoutMs;
    let row = await findOrThrow(id);
    while (!isFinished(row.status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      row = await findOrThrow(id);
    }
    return row;
  }

  return {
    async start(job) {
      const row = await insertJob(db, job, new Date().toISOString());
      await queue.enqueue(row.id);
      return toJob(row);
    },

    async list(query) {
      const rows = await listJobs(db, { type: query.type, status: query.status, limit: query.limit ?? 20 });
      return Promise.all(rows.map(view));
    },

    async get(id) {
      return view(await findOrThrow(id));
    },

    async cancel(id) {
      const row = await findOrThrow(id);
      if (isFinished(row.status)) throw new ConflictError(`The job is already ${row.status}.`);
      if (row.status === 'queued') {
        const ended = await endJob(database, id, { status: 'queued' }, { status: 'cancelled', error: null, forgetFile: false });
        if (ended) {
          await queue.discard(id);
          outboxSignal?.notify();
          const job = toJob(ended);
          await progress.publish(job).catch(() => undefined);
          return job;
        }
        // It started meanwhile: cancel it as a running job.
      }
      await requestCancel(db, id, new Date().toISOString());
      return view(await waitUntilFinished(id, CANCEL_WAIT_MS));
    },

    async retry(id) {
      const row = await findOrThrow(id);
      if (row.type !== 'import' || (row.status !== 'failed' && row.status !== 'cancelled')) {
        throw new ConflictError(`Only a failed or cancelled import can be retried; this ${row.type} job is ${row.status}.`);
      }
      const fileKept = row.file_path !== null && (await access(row.file_path).then(() => true, () => false));
      if (!fileKept) throw new ConflictError('The uploaded file of this import is no longer kept; upload it again.');
      const requeued = await requeueForRetry(db, id, new Date().toISOString());
      if (!requeued) throw new ConflictError('The job changed meanwhile; reload it.');
      await queue.enqueue(id);
      const job = toJob(requeued);
      await progress.publish(job).catch(() => undefined);
      return job;
    },

    async errors(id, query) {
      await findOrThrow(id);
      const rows = await listJobErrors(db, id, { limit: query.limit ?? 100, offset: query.offset ?? 0 });
      return rows.map(({ line, sku, field, message }) => ({ line: Number(line), sku, field, message }));
    },

    async exportErrors(id, write) {
      const row = await findOrThrow(id);
      const columns = parseColumns(row.csv_columns);
      const header = ['line', 'error', ...(columns ?? ['sku'])];
      await database.withStreamingReader(async (reader) => {
        const rows = rejectedRows(streamJobErrors(reader, id), (error) =>
          columns ? parseCsvRecord(error.raw ?? '') : [error.sku],
        );
        await write({ header, rows });
      });
    },
  };
}

function parseColumns(text: string | null): string[] | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.length > 0 ? value.map(String) : null;
  } catch {
    return null;
  }
}

/** One report row per rejected line (a line with several problems lists them all), then its original cells. */
async function* rejectedRows(
  errors: AsyncIterable<JobErrorRow>,
  cellsOf: (error: JobErrorRow) => (string | null)[],
): AsyncGenerator<(string | number | null)[]> {
  let current: { line: number; messages: string[]; cells: (string | null)[] } | null = null;
  for await (const error of errors) {
    const line = Number(error.line);
    const message = error.field ? `${error.field}: ${error.message}` : error.message;
    if (current && current.line === line) {
      current.messages.push(message);
      continue;
    }
    if (current) yield [current.line, current.messages.join('; '), ...current.cells];
    current = { line, messages: [message], cells: cellsOf(error) };
  }
  if (current) yield [current.line, current.messages.join('; '), ...current.cells];
}

/** Splits one CSV record (as stored with its error: the raw text of the row) into its fields. */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[index + 1] === '"') {
        field += '"';
        index++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}
