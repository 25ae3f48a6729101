import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';

/** A timestamp: written as an ISO-8601 string; read back as a string (SQLite) or a Date (PostgreSQL). */
export type Timestamp = ColumnType<string | Date, string, string>;

export interface ProductsTable {
  id: Generated<number>;
  sku: string;
  /** skuKey(sku): the case- and space-insensitive identity of a product, unique. */
  sku_key: string;
  name: string;
  description: string | null;
  /** Price in cents, so no float ever touches money. */
  price_cents: number | null;
  /** 1 or 0: one integer type that both dialects bind and compare the same way. */
  active: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OutboxEventsTable {
  seq: Generated<number>;
  /** `evt_…`: the webhook-id of every delivery of this event. */
  id: string;
  type: string;
  /** The event's `data`, as JSON text. */
  data: string;
  created_at: Timestamp;
  dispatched_at: Timestamp | null;
}

/** The kinds of job (each defined by its feature, registered in src/job-kinds.ts). */
export const JOB_TYPES = ['import', 'bulk_delete'] as const;
export type JobType = (typeof JOB_TYPES)[number];
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * What a running job writes as it goes, all totals so far: its progress and where it resumes.
 * The one list of these columns: the table type below, the writer (jobs.repository's
 * jobProgressUpdate) and the reader (readJobCounters, used by the API's view) derive from it.
 */
export const JOB_COUNTERS = [
  'bytes_processed',
  /** Bulk delete: rows present at start (the denominator of percent). */
  'rows_total',
  'rows_processed',
  'inserted',
  'updated',
  'unchanged',
  'invalid',
  /** Input offset just past the last committed row: where a restarted worker resumes. */
  'checkpoint_offset',
  /** The file line number reached at checkpoint_offset. */
  'checkpoint_line',
] as const;
export type JobCounter = (typeof JOB_COUNTERS)[number];
export type JobCounters = Record<JobCounter, number>;

/** A job's progress as its run reports and writes it: its phase and any of its counters. */
export type JobProgress = { phase: string } & Partial<JobCounters>;

/** bigint counters come back as strings from some drivers: numbers, read once here. */
export function readJobCounters(row: Record<JobCounter, number | string>): JobCounters {
  return Object.fromEntries(JOB_COUNTERS.map((column) => [column, Number(row[column])])) as JobCounters;
}

export interface JobsTable extends Record<JobCounter, Generated<number>> {
  id: string;
  type: JobType;
  status: JobStatus;
  phase: string | null;
  filename: string | null;
  file_path: string | null;
  file_sha256: string | null;
  /** 1 when the stored file is gzip-compressed. */
  gzip: Generated<number>;
  bytes_total: Generated<number>;
  cancel_requested: Generated<number>;
  attempts: Generated<number>;
  /** JSON array of strings, e.g. unknown columns. */
  warnings: string | null;
  /** JSON array: the uploaded file's header as written (for the downloadable error report). */
  csv_columns: string | null;
  error: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface JobErrorsTable {
  id: Generated<number>;
  job_id: string;
  line: number;
  sku: string | null;
  field: string | null;
  message: string;
  raw: string | null;
}

export interface WebhooksTable {
  id: Generated<number>;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** 1 or 0. */
  enabled: number;
  description: string | null;
  /** `whsec_` + base64 key: needed in clear to sign, so never logged and masked in reads. */
  secret: string;
  disabled_reason: string | null;
  disabled_at: Timestamp | null;
  /** Start of the current unbroken run of failed attempts (null after a success): 5 days of it disables. */
  failing_since: Timestamp | null;
  last_delivery_status: string | null;
  last_delivery_response_status: number | null;
  last_delivery_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'retrying';

/** One attempt to send one event to one webhook; a `pending` row is an attempt still to make. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  event_id: string;
  event_type: string;
  attempt: number;
  status: DeliveryStatus;
  response_status: number | null;
  response_time_ms: number | null;
  response_body: string | null;
  error: string | null;
  created_at: Timestamp;
  attempted_at: Timestamp | null;
  /** pending: when it is due; retrying: when the next attempt is due. */
  next_attempt_at: Timestamp | null;
  /** While a dispatcher holds a pending row (sending it): others skip it until then. */
  lease_until: Timestamp | null;
}

export interface Tables {
  products: ProductsTable;
  outbox_events: OutboxEventsTable;
  jobs: JobsTable;
  job_errors: JobErrorsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

/** A connection or a transaction: every repository function works inside either. */
export type Executor = Kysely<Tables> | Transaction<Tables>;
