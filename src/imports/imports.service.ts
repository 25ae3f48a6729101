import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { JobAccepted } from '../jobs/jobs.schemas.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { HttpError } from '../shared/http-errors.js';
import { CsvFileError } from './imports.errors.js';
import { inspectCsvFile } from './imports.header.js';
import { storeUpload } from './imports.upload-store.js';

export interface ImportsService {
  /**
   * Stores an uploaded file (streamed, size-limited, hashed), checks its header row and
   * starts its import job. 413 over the size limit, 400 when it is not a usable CSV; in
   * both cases nothing of it is kept.
   */
  upload(file: { stream: Readable; filename: string }): Promise<JobAccepted>;
}

export function createImportsService(deps: { config: Pick<Config, 'uploadDir' | 'maxUploadBytes'>; jobs: JobsService }): ImportsService {
  const { config, jobs } = deps;
  return {
    async upload({ stream, filename }) {
      const id = randomUUID();
      const stored = await storeUpload(stream, config.uploadDir, id, config.maxUploadBytes);
      try {
        const { columns, warnings } = await inspectCsvFile(stored.path, { gzip: stored.gzip });
        const job = await jobs.start({
          id,
          type: 'import',
          filename,
          file_path: stored.path,
          file_sha256: stored.sha256,
          gzip: stored.gzip ? 1 : 0,
          bytes_total: stored.bytes,
          warnings: JSON.stringify(warnings),
          csv_columns: JSON.stringify(columns),
        });
        return { job_id: job.id, ...job };
      } catch (error) {
        await rm(stored.path, { force: true });
        if (error instanceof CsvFileError) throw new HttpError(400, error.message);
        throw error;
      }
    },
  };
}
