import { access } from 'node:fs/promises';
import type { JobKind } from '../jobs/jobs.kind.js';
import type { Job } from '../jobs/jobs.schemas.js';
import { formatCount } from '../jobs/jobs.view.js';
import { importErrorReport } from './imports.error-report.js';
import { importCsvFile } from './imports.pipeline.js';

const rowsRead = (job: Job) => `${formatCount(job.rows_processed)} rows`;

/**
 * A CSV upload imported as a job: percent = bytes of the stored file consumed; one webhook
 * event at the end (`import.completed`, or `import.failed` for a failed or cancelled one:
 * `status` says which); a failed or cancelled import runs again from its checkpoint while its
 * uploaded file is kept.
 */
export const importJobKind: JobKind = {
  type: 'import',
  run: (context) => importCsvFile(context),
  measure: 'bytes',
  wording: {
    name: 'Import',
    done: (job) => `${rowsRead(job)} read`,
    completed: (job) =>
      `Import completed: ${rowsRead(job)}: ${formatCount(job.inserted)} inserted, ${formatCount(job.updated)} updated, ${formatCount(job.unchanged)} unchanged, ${formatCount(job.invalid)} invalid`,
    cancelled: (job) => `Import cancelled after ${rowsRead(job)}`,
  },
  finishedEvent: (job) => ({
    type: job.status === 'completed' ? 'import.completed' : 'import.failed',
    data: {
      filename: job.filename,
      file_sha256: job.file_sha256,
      rows_processed: job.rows_processed,
      inserted: job.inserted,
      updated: job.updated,
      unchanged: job.unchanged,
      invalid: job.invalid,
      warnings: job.warnings,
    },
  }),
  retry: {
    possible: (row) => row.file_path !== null,
    async refusal(row) {
      const fileKept = row.file_path !== null && (await access(row.file_path).then(() => true, () => false));
      return fileKept ? null : 'The uploaded file of this import is no longer kept; upload it again.';
    },
  },
  errorReport: importErrorReport,
};
