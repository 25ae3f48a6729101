import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../shared/http-errors.js';

export interface StoredUpload {
  path: string;
  bytes: number;
  sha256: string;
  /** The content starts with the gzip magic bytes, whatever its name or media type said. */
  gzip: boolean;
}

export class UploadTooLargeError extends HttpError {
  constructor(maxBytes: number) {
    super(413, `The upload is larger than the limit of ${maxBytes} bytes (MAX_UPLOAD_BYTES).`, { connection: 'close' });
  }
}

export class UploadStalledError extends HttpError {
  constructor(idleMs: number) {
    super(408, `The upload sent no data for ${idleMs} ms (UPLOAD_IDLE_TIMEOUT_MS) and was cut off; nothing of it is kept.`, { connection: 'close' });
  }
}

export interface UploadLimit {
  maxBytes: number;
  /** The error past maxBytes (default UploadTooLargeError). */
  tooLarge?: () => Error;
  /**
   * A source that brings no byte for this long is destroyed (for a request body: its
   * connection closes) and the upload fails with UploadStalledError. A slow source that
   * keeps moving is never cut.
   */
  idleTimeoutMs?: number;
}

/**
 * The request body itself failed (cut off, malformed multipart): the client's fault, a 400,
 * unless it already says what it is (e.g. the multipart size limit's 413).
 */
function asUnreadableUpload(error: unknown): unknown {
  if (error instanceof HttpError || typeof (error as { statusCode?: unknown }).statusCode === 'number') return error;
  return new HttpError(400, `The upload could not be read to its end: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Streams an upload to `directory/<name>` (never holding it in memory), hashing it on
 * the way. Over `maxBytes` it stops with `tooLarge()` and nothing of it is kept; so does
 * any error of the source (a client gone or stalled).
 */
export async function storeUpload(source: Readable, directory: string, name: string, limit: UploadLimit): Promise<StoredUpload> {
  const { maxBytes, tooLarge = () => new UploadTooLargeError(maxBytes), idleTimeoutMs } = limit;
  await mkdir(directory, { recursive: true });
  const partial = path.join(directory, `${name}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  const idle = idleTimeoutMs ? setTimeout(() => source.destroy(new UploadStalledError(idleTimeoutMs)), idleTimeoutMs) : null;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      idle?.refresh();
      bytes += chunk.length;
      if (bytes > maxBytes) return callback(tooLarge());
      if (head.length < 2) head = Buffer.concat([head, chunk.subarray(0, 2)]);
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The source may have failed before we were handed it (then only `errored` tells).
  let sourceError: unknown = source.errored;
  source.once('error', (error) => (sourceError ??= error));
  const file = createWriteStream(partial, { flags: 'wx' });
  try {
    await pipeline(source, meter, file);
  } catch (error) {
    // A source that fails at once (a multipart body with no closing boundary) ends the pipeline
    // before the file is even open; the stream still opens it, then closes it. Removed before
    // that, the empty .part file would stay behind for good.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await rm(partial, { force: true });
    throw error === sourceError ? asUnreadableUpload(error) : error;
  } finally {
    if (idle) clearTimeout(idle);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const finalPath = path.join(directory, gzip ? `${name}.csv.gz` : `${name}.csv`);
  await rename(partial, finalPath);
  return { path: finalPath, bytes, sha256: hash.digest('hex'), gzip };
}
