import { runBulkDelete } from '../bulk-delete/bulk-delete.task.js';
import { importCsvFile } from '../imports/imports.pipeline.js';
import type { JobTasks } from './jobs.executor.js';

/** What each type of job runs. */
export const jobTasks: JobTasks = {
  import: importCsvFile,
  bulk_delete: runBulkDelete,
};
