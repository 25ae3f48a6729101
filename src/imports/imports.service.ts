import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { JobAccepted } from '../jobs/jobs.schemas.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { HttpError } from '../shared/http-errors.js';
import { CsvFileError } from './imports.errors.js';
import { inspectCsvFile } from './imports.header.js';
import type { UploadAdmission } from './imports.upload-admission.js';
import { storeUpload, UploadStalledError } from './imports.upload-store.js';

/** An upload as the route hands it over: its declared size, and how to start reading it (after admission). */
export interface IncomingUpload {
  /** Content-Length, when the client sent one. */
  declaredBytes: number | null;
  receive(): Promise<{ stream: Readable; filename: string }>;
  /** Ends the upload's connection (it stalled). */
  abort(error: Error): void;
}

export interface ImportsService {
  /**
   * Admits an upload (503 when too many are received at once, 507 when the kept files
   * leave no room), stores it (streamed, size-limited, hashed), checks its header row and
   * starts its import job. 413 over the size limit, 400 when it is not a usable CSV; in
   * every refusal nothing of it is kept.
   */
  upload(upload: IncomingUpload): Promise<JobAccepted>;
}

/** The file's stream, or the upload aborted when it does not start within `idleMs` (e.g. a multipart body stalled before its file part). */
async function receiveWithin(upload: IncomingUpload, idleMs: number): Promise<{ stream: Readable; filename: string }> {
  const timer = setTimeout(() => upload.abort(new UploadStalledError(idleMs)), idleMs);
  try {
    return await upload.receive();
  } finally {
    clearTimeout(timer);
  }
}

export function createImportsService(deps: {
  config: Pick<Config, 'uploadDir' | 'uploadIdleTimeoutMs'>;
  jobs: JobsService;
  admission: UploadAdmission;
}): ImportsService {
  const { config, jobs, admission } = deps;
  return {
    async upload(upload) {
      const ticket = await admission.admit(upload.declaredBytes);
      try {
        const { stream, filename } = await receiveWithin(upload, config.uploadIdleTimeoutMs);
        const id = randomUUID();
        const stored = await storeUpload(stream, config.uploadDir, id, {
          maxBytes: ticket.maxBytes,
          tooLarge: ticket.tooLarge,
          idleTimeoutMs: config.uploadIdleTimeoutMs,
        });
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
      } finally {
        // The stored file now counts among the kept files (its job row refers to it).
        ticket.release();
      }
    },
  };
}
