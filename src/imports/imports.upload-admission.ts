import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { keptUploadTotals } from '../jobs/jobs.repository.js';
import { evictKeptUploads } from '../jobs/jobs.retention.js';
import { HttpError } from '../shared/http-errors.js';
import { UploadTooLargeError } from './imports.upload-store.js';

/** How long a client refused for too many uploads at once is asked to wait. */
const BUSY_RETRY_AFTER_SECONDS = 5;

/** An upload allowed to start: how many bytes it may write, and its place to give back. */
export interface UploadTicket {
  /** The most it may store: MAX_UPLOAD_BYTES, or less when the kept files leave less room. */
  maxBytes: number;
  /** The error for an upload past maxBytes: 413 over MAX_UPLOAD_BYTES, 507 when the room ran out first. */
  tooLarge(): HttpError;
  /** Idempotent. */
  release(): void;
}

export interface UploadAdmission {
  /** 503 (with Retry-After) when MAX_CONCURRENT_UPLOADS are being received; 507 when the kept files leave no room. */
  admit(declaredBytes: number | null): Promise<UploadTicket>;
}

export class InsufficientStorageError extends HttpError {
  constructor(detail: string) {
    super(507, `${detail} Retry after failed or cancelled imports were retried or their files expired, or ask the operator to raise the limit.`, {
      connection: 'close',
    });
  }
}

type AdmissionConfig = Pick<Config, 'maxUploadBytes' | 'maxConcurrentUploads' | 'uploadMaxKeptFiles' | 'uploadMaxKeptBytes'>;

/**
 * Bounds what uploads may take in this process: how many are received at once, and the
 * files kept together (imports waiting, running, or failed and kept for a retry) by count
 * and bytes. To make room, the files of the longest-failed imports go first; an upload
 * that still cannot fit is refused before any of it is stored.
 */
export function createUploadAdmission(database: Database, config: AdmissionConfig): UploadAdmission {
  const limits = { maxFiles: config.uploadMaxKeptFiles, maxBytes: config.uploadMaxKeptBytes };
  let receiving = 0;
  let reservedBytes = 0;

  return {
    async admit(declaredBytes) {
      if (receiving >= config.maxConcurrentUploads) {
        throw new HttpError(
          503,
          `${receiving} uploads are being received, the most at once (MAX_CONCURRENT_UPLOADS); try again in a few seconds.`,
          { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS), connection: 'close' },
        );
      }
      // Counted before the first await, so concurrent requests see each other.
      receiving++;
      const wanted = Math.min(declaredBytes ?? 0, config.maxUploadBytes);
      reservedBytes += wanted;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        receiving--;
        reservedBytes -= wanted;
      };
      try {
        const incoming = { files: receiving, bytes: reservedBytes };
        let evicted: number;
        do evicted = await evictKeptUploads(database, limits, incoming);
        while (evicted > 0);
        const kept = await keptUploadTotals(database.db);
        if (kept.files + receiving > limits.maxFiles) {
          throw new InsufficientStorageError(
            `${kept.files} uploaded files are kept for imports waiting, running or to retry, the most allowed (UPLOAD_MAX_KEPT_FILES=${limits.maxFiles}).`,
          );
        }
        const room = limits.maxBytes - kept.bytes - (reservedBytes - wanted);
        if (room < Math.max(wanted, 1)) {
          throw new InsufficientStorageError(
            `The kept upload files take ${kept.bytes} bytes of the ${limits.maxBytes} allowed (UPLOAD_MAX_KEPT_BYTES); this upload does not fit.`,
          );
        }
        const maxBytes = Math.min(config.maxUploadBytes, room);
        return {
          maxBytes,
          tooLarge: () =>
            maxBytes < config.maxUploadBytes
              ? new InsufficientStorageError(`The upload is larger than the ${maxBytes} bytes left for kept upload files (UPLOAD_MAX_KEPT_BYTES).`)
              : new UploadTooLargeError(config.maxUploadBytes),
          release,
        };
      } catch (error) {
        release();
        throw error;
      }
    },
  };
}
