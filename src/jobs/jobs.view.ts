import { readJobCounters } from '../db/database.schema.js';
import type { JobKind, JobKinds } from './jobs.kind.js';
import type { JobRow } from './jobs.repository.js';
import { FINISHED_STATUSES, type Job } from './jobs.schemas.js';

/** The live part of a running job that the database does not hold. */
export interface JobRate {
  rows_per_second: number | null;
  eta_seconds: number | null;
}

const UNKNOWN_RATE: JobRate = { rows_per_second: null, eta_seconds: null };

function iso(value: string | Date | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export function isFinished(status: string): boolean {
  return FINISHED_STATUSES.includes(status);
}

/** How much of the job's measure (its kind says which) is done, and of how much. */
function measured(row: JobRow, kind: JobKind): { done: number; total: number } {
  return kind.measure === 'bytes'
    ? { done: Number(row.bytes_processed), total: Number(row.bytes_total) }
    : { done: Number(row.rows_processed), total: Number(row.rows_total) };
}

/** What the recent rate is measured against to estimate the time left. */
export function remainingOf(row: JobRow, kind: JobKind): { rows?: number; bytes?: number } {
  const { done, total } = measured(row, kind);
  return { [kind.measure]: Math.max(0, total - done) };
}

function percentOf(row: JobRow, kind: JobKind): number {
  const { done, total } = measured(row, kind);
  if (row.status === 'completed') return 100;
  if (total <= 0) return 0;
  return Math.min(100, round((done / total) * 100, 1));
}

/** A finished job's rate is its average over the run. */
function averageRate(row: JobRow): JobRate {
  if (row.started_at === null || row.finished_at === null) return UNKNOWN_RATE;
  const seconds = (new Date(row.finished_at).getTime() - new Date(row.started_at).getTime()) / 1000;
  return { rows_per_second: seconds > 0 ? Math.round(Number(row.rows_processed) / seconds) : null, eta_seconds: null };
}

function parseList(text: string | null): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

/** The API's view of a job row; `rate` is the live rate of a running job when known. */
export function toJob(row: JobRow, kinds: JobKinds, rate: JobRate | null = null): Job {
  const kind = kinds.of(row.type);
  const finished = isFinished(row.status);
  const { rows_per_second, eta_seconds } = finished ? averageRate(row) : row.status === 'running' ? (rate ?? UNKNOWN_RATE) : UNKNOWN_RATE;
  const counters = readJobCounters(row);
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    phase: row.phase,
    filename: row.filename,
    file_sha256: row.file_sha256,
    bytes_total: Number(row.bytes_total),
    bytes_processed: counters.bytes_processed,
    percent: percentOf(row, kind),
    rows_total: counters.rows_total,
    rows_processed: counters.rows_processed,
    inserted: counters.inserted,
    updated: counters.updated,
    unchanged: counters.unchanged,
    invalid: counters.invalid,
    rows_per_second,
    eta_seconds,
    warnings: parseList(row.warnings),
    error: row.error,
    retryable: isRetryable(row, kind),
    created_at: iso(row.created_at) as string,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
  };
}

/** A failed or cancelled job that its kind's retry rule would run again as it is stored. */
export function isRetryable(row: JobRow, kind: JobKind): boolean {
  return (row.status === 'failed' || row.status === 'cancelled') && (kind.retry?.possible(row) ?? false);
}

/** Numbers in messages for people: 1,234,567. */
export const formatCount = new Intl.NumberFormat('en-US').format;

/** One line for people, sent with each progress event; the kind words what it has done. */
export function jobMessage(job: Job, kinds: JobKinds): string {
  const { wording } = kinds.of(job.type);
  switch (job.status) {
    case 'queued':
      return `${wording.name} queued`;
    case 'running': {
      const rate = job.rows_per_second === null ? '' : `, ${formatCount(Math.round(job.rows_per_second))} rows/s`;
      const eta = job.eta_seconds === null ? '' : `, about ${Math.ceil(job.eta_seconds)} s left`;
      return `${wording.name} ${job.phase ?? 'running'}: ${wording.done(job)} (${job.percent}%)${rate}${eta}`;
    }
    case 'completed':
      return wording.completed(job);
    case 'failed':
      return `${wording.name} failed: ${job.error ?? 'unknown error'}`;
    case 'cancelled':
      return wording.cancelled(job);
  }
}

/**
 * The recent rate of a running job: rows (and bytes) per second over the last few
 * seconds of samples, and the time left at that pace.
 */
export class RateTracker {
  private samples: { at: number; rows: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  sample(rows: number, bytes: number, at = Date.now()): void {
    this.samples.push({ at, rows, bytes });
    while (this.samples.length > 2 && at - (this.samples[1] as { at: number }).at >= this.windowMs) this.samples.shift();
  }

  /** Null fields until there is at least half a second of samples. */
  rate(remaining: { rows?: number; bytes?: number }): JobRate {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 500) return UNKNOWN_RATE;
    const seconds = (last.at - first.at) / 1000;
    const rowsPerSecond = (last.rows - first.rows) / seconds;
    const bytesPerSecond = (last.bytes - first.bytes) / seconds;
    let eta: number | null = null;
    if (remaining.bytes !== undefined && bytesPerSecond > 0) eta = remaining.bytes / bytesPerSecond;
    else if (remaining.rows !== undefined && rowsPerSecond > 0) eta = remaining.rows / rowsPerSecond;
    return { rows_per_second: Math.max(0, Math.round(rowsPerSecond)), eta_seconds: eta === null ? null : round(Math.max(0, eta), 1) };
  }
}
