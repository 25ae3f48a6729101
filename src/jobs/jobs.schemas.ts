import { Type, type Static, type TLiteral } from 'typebox';
import { JOB_TYPES } from '../db/database.schema.js';

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description ? { description } : {});
const count = (description: string) => Type.Integer({ minimum: 0, description });

type LiteralsOf<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K] & string> };
/** One literal per job type, typed as the tuple of JOB_TYPES (a plain map() would lose which). */
const jobTypeLiterals = JOB_TYPES.map((type) => Type.Literal(type)) as LiteralsOf<typeof JOB_TYPES>;
const JobTypeSchema = (options: { description?: string } = {}) => Type.Union(jobTypeLiterals, options);
const JobStatusSchema = (options: { description?: string } = {}) =>
  Type.Union(
    [Type.Literal('queued'), Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')],
    options,
  );
export const FINISHED_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled'];

const jobProperties = {
  id: Type.String({ format: 'uuid' }),
  type: JobTypeSchema({ description: '`import` (a CSV upload) or `bulk_delete`.' }),
  status: JobStatusSchema({ description: '`queued` → `running` → one of `completed`, `failed`, `cancelled`.' }),
  phase: nullable(Type.String(), 'While running: `parsing`, `importing`, `finalizing` (imports) or `deleting` (bulk delete).'),
  filename: nullable(Type.String(), 'The uploaded file name (imports).'),
  file_sha256: nullable(Type.String(), 'SHA-256 of the uploaded file as received, hex (imports).'),
  bytes_total: count('Size of the uploaded file as stored (compressed size for .csv.gz).'),
  bytes_processed: count('Bytes of the stored file consumed so far.'),
  percent: Type.Number({
    minimum: 0,
    maximum: 100,
    description: 'Measured: imports = bytes consumed / file size; bulk delete = rows deleted / rows at start. One decimal.',
  }),
  rows_total: count('Bulk delete: the products present when it started (0 for imports).'),
  rows_processed: count('Imports: data rows read (header excluded). Bulk delete: products deleted.'),
  inserted: count('New products.'),
  updated: count('Existing products changed.'),
  unchanged: count('Existing products that already held exactly these values.'),
  invalid: count('Rows rejected (see the errors endpoint).'),
  rows_per_second: nullable(Type.Number({ minimum: 0 }), 'Recent rate while running (over the last seconds); the average over the run once finished; null when unknown.'),
  eta_seconds: nullable(Type.Number({ minimum: 0 }), 'Estimated seconds left, from the recent rate; null when unknown.'),
  warnings: Type.Array(Type.String(), { description: 'E.g. columns of the file that are ignored.' }),
  error: nullable(Type.String(), 'Why it failed, for people.'),
  retryable: Type.Boolean({
    description:
      'A failed or cancelled import whose uploaded file is still kept: POST …/retry can run it again. False once the file was let go (after UPLOAD_RETENTION_HOURS, or earlier when the kept files reach UPLOAD_MAX_KEPT_FILES / UPLOAD_MAX_KEPT_BYTES).',
  }),
  created_at: Type.String({ format: 'date-time' }),
  started_at: nullable(Type.String({ format: 'date-time' })),
  finished_at: nullable(Type.String({ format: 'date-time' })),
};

export const Job = Type.Object(jobProperties, { $id: 'Job', description: 'A long operation: an import or a bulk delete.' });
export type Job = Static<typeof Job>;

/** The 202 answer that starts a job: the job, plus its id under the name clients look for. */
export const JobAccepted = Type.Object(
  { job_id: Type.String({ format: 'uuid', description: 'The id of the job started (same as `id`).' }), ...jobProperties },
  { $id: 'JobAccepted', description: 'The job that was started.' },
);
export type JobAccepted = Static<typeof JobAccepted>;

export const JobIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Job id.' }) });

export const JobListQuery = Type.Object({
  type: Type.Optional(JobTypeSchema()),
  status: Type.Optional(JobStatusSchema()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'At most 100; default 20.' })),
});
export type JobListQuery = Static<typeof JobListQuery>;

export const JobErrorsQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: '`csv` downloads every rejected row as CSV.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'JSON only: at most 1000; default 100.' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'JSON only.' })),
});
export type JobErrorsQuery = Static<typeof JobErrorsQuery>;

export const JobError = Type.Object({
  line: Type.Integer({ description: 'Line number in the file (the header is line 1).' }),
  sku: nullable(Type.String()),
  field: nullable(Type.String(), 'The column at fault; null when the whole row is.'),
  message: Type.String(),
});
export type JobError = Static<typeof JobError>;
export const JobErrorList = Type.Array(JobError);
