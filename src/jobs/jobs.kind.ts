import type { Database } from '../db/database.js';
import type { JobProgress, JobType } from '../db/database.schema.js';
import type { EventType } from '../outbox/outbox.events.js';
import type { JobErrorRow, JobRow } from './jobs.repository.js';
import type { Job } from './jobs.schemas.js';

// A job kind is what one type of job is: what its run does, how its progress reads, what its
// finished event says and what retry means. Each feature defines its own (imports.job.ts,
// bulk-delete.job.ts); the composition root registers them (src/job-kinds.ts). jobs/ runs,
// shows and ends jobs through their kind and knows none of them.

/** What a job's run is given, in the thread or process running it. */
export interface JobRunContext {
  /** Opened in the thread or process running the job. */
  database: Database;
  /** The jobs row tells the run where to resume (checkpoint, counters). */
  jobId: string;
  /** Called as the run goes (at least every ~200 ms while it works); the counters are totals for the job so far. */
  onProgress(progress: JobProgress): void;
  /** Checked between batches: when true the run stops at this boundary and returns {status: 'cancelled'}. */
  isCancelled(): boolean | Promise<boolean>;
  /** The memory the run may use in MiB (IMPORT_MEMORY_MB, shared as config.ts's importMemoryShares says); default DEFAULT_IMPORT_MEMORY_MB. */
  memoryMb?: number;
  /** Where the run's time went, in milliseconds per phase (e.g. parse, stage, merge), once when it ends, for the log. */
  onPhases?(phases: Record<string, number>): void;
}

export type JobOutcome = { status: 'completed' } | { status: 'cancelled' };

export interface JobKind {
  readonly type: JobType;
  /** Runs a claimed job to its end, or to a cancel; throws to fail it (the error's message is shown to people). */
  run(context: JobRunContext): Promise<JobOutcome>;
  /** What percent and the time left measure: the stored file's bytes consumed, or rows processed of `rows_total`. */
  readonly measure: 'bytes' | 'rows';
  /** Its one-line messages for people (sent with each progress event). */
  readonly wording: JobWording;
  /** The webhook event of a finished job (completed, failed or cancelled): its type and what its data adds to the common fields. */
  finishedEvent(job: Job): { type: EventType; data: Record<string, unknown> };
  /** What retry means for it; without one, its jobs are never retried. */
  readonly retry?: JobRetryRule;
  /** The columns of its CSV error report after `line` and `error` (default: the rejected row's SKU); null for the default. */
  errorReport?(row: JobRow): ErrorReportColumns | null;
}

export interface JobWording {
  /** Its name in a sentence's first place, e.g. 'Import'. */
  name: string;
  /** While running: what it has done so far, e.g. '1,000 rows read'. */
  done(job: Job): string;
  completed(job: Job): string;
  cancelled(job: Job): string;
}

/** A failed or cancelled job runs again from its checkpoint. */
export interface JobRetryRule {
  /** Whether the job can run again as it is stored (the view's `retryable`). */
  possible(row: JobRow): boolean;
  /** Checked just before it is queued again: why it cannot after all, or null. */
  refusal(row: JobRow): Promise<string | null>;
}

export interface ErrorReportColumns {
  header: string[];
  cellsOf(error: JobErrorRow): (string | null)[];
}

/** The registered kinds, by type. */
export interface JobKinds {
  of(type: JobType): JobKind;
  /** The types that can be retried, e.g. 'import' (for the refusal of the others). */
  readonly retryableTypes: string;
}

export function registerJobKinds(kinds: readonly JobKind[]): JobKinds {
  const byType = new Map(kinds.map((kind) => [kind.type, kind]));
  return {
    of(type) {
      const kind = byType.get(type);
      if (!kind) throw new Error(`No job kind is registered for jobs of type ${type}.`);
      return kind;
    },
    retryableTypes: kinds
      .filter((kind) => kind.retry)
      .map((kind) => kind.type)
      .join(' or '),
  };
}
