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

/** Measured progress: bytes of the file consumed (imports), rows deleted of those at start (bulk delete). */
function percentOf(row: JobRow): number {
  const [done, total] = row.type === 'import' ? [row.bytes_processed, row.bytes_total] : [row.rows_processed, row.rows_total];
  if (row.status === 'completed') return 100;
  if (Number(total) <= 0) return 0;
  return Math.min(100, round((Number(done) / Number(total)) * 100, 1));
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
export function toJob(row: JobRow, rate: JobRate | null = null): Job {
  const finished = isFinished(row.status);
  const { rows_per_second, eta_seconds } = finished ? averageRate(row) : row.status === 'running' ? (rate ?? UNKNOWN_RATE) : UNKNOWN_RATE;
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    phase: row.phase,
    filename: row.filename,
    file_sha256: row.file_sha256,
    bytes_total: Number(row.bytes_total),
    bytes_processed: Number(row.bytes_processed),
    percent: percentOf(row),
    rows_total: Number(row.rows_total),
    rows_processed: Number(row.rows_processed),
    inserted: Number(row.inserted),
    updated: Number(row.updated),
    unchanged: Number(row.unchanged),
    invalid: Number(row.invalid),
    rows_per_second,
    eta_seconds,
    warnings: parseList(row.warnings),
    error: row.error,
    retryable: row.type === 'import' && (row.status === 'failed' || row.status === 'cancelled') && row.file_path !== null,
    created_at: iso(row.created_at) as string,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
  };
}

const number = new Intl.NumberFormat('en-US');

/** One line for people, sent with each progress event. */
export function jobMessage(job: Job): string {
  const what = job.type === 'import' ? 'Import' : 'Bulk delete';
  const rows = number.format(job.rows_processed);
  switch (job.status) {
    case 'queued':
      return `${what} queued`;
    case 'running': {
      const done = job.type === 'import' ? `${rows} rows read` : `${rows} products deleted`;
      const rate = job.rows_per_second === null ? '' : `, ${number.format(Math.round(job.rows_per_second))} rows/s`;
      const eta = job.eta_seconds === null ? '' : `, about ${Math.ceil(job.eta_seconds)} s left`;
      return `${what} ${job.phase ?? 'running'}: ${done} (${job.percent}%)${rate}${eta}`;
    }
    case 'completed':
      return job.type === 'import'
        ? `Import completed: ${rows} rows: ${number.format(job.inserted)} inserted, ${number.format(job.updated)} updated, ${number.format(job.unchanged)} unchanged, ${number.format(job.invalid)} invalid`
        : `Bulk delete completed: ${rows} products deleted`;
    case 'failed':
      return `${what} failed: ${job.error ?? 'unknown error'}`;
    case 'cancelled':
      return job.type === 'import' ? `Import cancelled after ${rows} rows` : `Bulk delete cancelled after ${rows} products deleted`;
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
