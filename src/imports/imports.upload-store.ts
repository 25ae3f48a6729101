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
 * the way. Over `maxBytes` it stops with UploadTooLargeError and nothing of it is kept.
 */
export async function storeUpload(source: Readable, directory: string, name: string, maxBytes: number): Promise<StoredUpload> {
  await mkdir(directory, { recursive: true });
  const partial = path.join(directory, `${name}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) return callback(new UploadTooLargeError(maxBytes));
      if (head.length < 2) head = Buffer.concat([head, chunk.subarray(0, 2)]);
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The source may have failed before we were handed it (then only `errored` tells).
  let sourceError: unknown = source.errored;
  source.once('error', (error) => (sourceError ??= error));
  try {
    await pipeline(source, meter, createWriteStream(partial, { flags: 'wx' }));
  } catch (error) {
    await rm(partial, { force: true });
    throw error === sourceError ? asUnreadableUpload(error) : error;
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const finalPath = path.join(directory, gzip ? `${name}.csv.gz` : `${name}.csv`);
  await rename(partial, finalPath);
  return { path: finalPath, bytes, sha256: hash.digest('hex'), gzip };
}
