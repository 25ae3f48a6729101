import type { Database } from '../db/database.js';
import type { OutboxSignal } from '../outbox/outbox.signal.js';
import { ConflictError, NotFoundError } from '../shared/http-errors.js';
import type { ErrorReportColumns, JobKinds } from './jobs.kind.js';
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
import { isFinished, jobMessage, toJob } from './jobs.view.js';

export interface JobsService {
  /** Records a new job (queued) and hands it to the queue. */
  start(job: NewJobRow): Promise<Job>;
  list(query: JobListQuery): Promise<Job[]>;
  /** The job as stored, with its live rate when running. */
  get(id: string): Promise<Job>;
  cancel(id: string): Promise<Job>;
  retry(id: string): Promise<Job>;
  errors(id: string, query: JobErrorsQuery): Promise<JobError[]>;
  /** Every rejected row, for the CSV error report: `line`, `error`, then the columns the job's kind gives. */
  exportErrors(id: string, write: (report: ErrorReport) => Promise<void>): Promise<void>;
  /** One line for people about the job as it is (sent with each progress event). */
  message(job: Job): string;
}

export interface ErrorReport {
  header: string[];
  rows: AsyncIterable<(string | number | null)[]>;
}

/** How long a cancel waits for the running job to reach its next batch boundary before answering. */
const CANCEL_WAIT_MS = 2000;

export interface JobsServiceDeps {
  database: Database;
  /** What each type of job is (src/job-kinds.ts). */
  kinds: JobKinds;
  queue: JobQueue;
  progress: ProgressBus;
  /** Wakes the webhook dispatchers after a cancel committed its event (without it, their poll finds it). */
  outboxSignal?: OutboxSignal;
}

export function createJobsService(deps: JobsServiceDeps): JobsService {
  const { database, kinds, queue, progress, outboxSignal } = deps;
  const { db } = database;

  async function findOrThrow(id: string): Promise<JobRow> {
    const row = await findJob(db, id);
    if (!row) throw new NotFoundError('Job');
    return row;
  }

  async function view(row: JobRow): Promise<Job> {
    if (row.status !== 'running') return toJob(row, kinds);
    const live = await progress.latest(row.id).catch(() => null);
    return toJob(row, kinds, live && live.status === 'running' ? live : null);
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
      return toJob(row, kinds);
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
        const ended = await endJob(database, kinds, id, { status: 'queued' }, { status: 'cancelled', error: null, forgetFile: false });
        if (ended) {
          await queue.discard(id);
          outboxSignal?.notify();
          const job = toJob(ended, kinds);
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
      const rule = kinds.of(row.type).retry;
      if (!rule || (row.status !== 'failed' && row.status !== 'cancelled')) {
        throw new ConflictError(`Only a failed or cancelled ${kinds.retryableTypes} can be retried; this ${row.type} job is ${row.status}.`);
      }
      const refusal = await rule.refusal(row);
      if (refusal !== null) throw new ConflictError(refusal);
      const requeued = await requeueForRetry(db, row, new Date().toISOString());
      if (!requeued) throw new ConflictError('The job changed meanwhile; reload it.');
      await queue.enqueue(id);
      const job = toJob(requeued, kinds);
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
      const columns = kinds.of(row.type).errorReport?.(row) ?? REJECTED_SKU;
      await database.withStreamingReader(async (reader) => {
        await write({ header: ['line', 'error', ...columns.header], rows: rejectedRows(streamJobErrors(reader, id), columns.cellsOf) });
      });
    },

    message: (job) => jobMessage(job, kinds),
  };
}

/** The error report's columns for kinds that give none: the rejected row's SKU. */
const REJECTED_SKU: ErrorReportColumns = { header: ['sku'], cellsOf: (error) => [error.sku] };

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
