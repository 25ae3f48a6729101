import fs from 'node:fs';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { ImportFailedError } from './imports.errors.js';

// The stored upload as a stream of decoded text, from a given offset of the CSV text
// (the decompressed bytes for a .csv.gz), with guards against gzip bombs.

/**
 * Decompressed bytes one .csv.gz may expand to: 10 GiB, ten times the default upload limit and
 * about 60 million catalog rows, so no real catalog hits it while a bomb stops after a bounded
 * amount of work and disk-free memory (the stream is never held whole).
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 10 * 1024 ** 3;
/**
 * Real CSV compresses 3–15×; gzip's ceiling is about 1000×. Above this ratio (checked once a
 * few MiB are out, so tiny files never trip it) the file is a bomb, failed in well under a
 * second instead of after gigabytes.
 */
export const MAX_COMPRESSION_RATIO = 200;
const RATIO_CHECK_AFTER_BYTES = 16 * 1024 ** 2;
/**
 * Parsing a chunk holds the import thread's event loop: with 1 MiB chunks (~50 ms of parsing)
 * PostgreSQL sat idle after each statement of a batch until the chunk was done (measured 1.7 s
 * per 500k rows in BEGINs alone); 64 KiB keeps each wait ~3 ms at no cost in reading speed.
 */
const READ_CHUNK_BYTES = 1 << 16;

export interface SourceLimits {
  maxDecompressedBytes: number;
  maxCompressionRatio: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxCompressionRatio: MAX_COMPRESSION_RATIO,
};

export interface TextChunk {
  text: string;
  /** Bytes of the stored file read so far (compressed bytes for .gz): the measure of percent. */
  fileBytesRead: number;
}

/**
 * Text of the CSV from byte `fromOffset` of its (decompressed) content. Undecodable bytes become
 * U+FFFD (the row holding them is rejected); a BOM is kept, for the caller to account for.
 */
export async function* readCsvText(
  filePath: string,
  options: { gzip: boolean; fromOffset: number; limits?: SourceLimits },
): AsyncGenerator<TextChunk> {
  const limits = options.limits ?? DEFAULT_SOURCE_LIMITS;
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const bytes = options.gzip
    ? gunzipFrom(filePath, options.fromOffset, limits)
    : plainFrom(filePath, options.fromOffset);
  try {
    for await (const chunk of bytes) {
      const text = decoder.decode(chunk.bytes, { stream: true });
      if (text) yield { text, fileBytesRead: chunk.fileBytesRead };
    }
  } catch (error) {
    throw asImportFailure(error, options.gzip);
  }
  const rest = decoder.decode();
  if (rest) yield { text: rest, fileBytesRead: -1 };
}

interface ByteChunk {
  bytes: Buffer;
  fileBytesRead: number;
}

async function* plainFrom(filePath: string, fromOffset: number): AsyncGenerator<ByteChunk> {
  let read = fromOffset;
  for await (const bytes of fs.createReadStream(filePath, { start: fromOffset, highWaterMark: READ_CHUNK_BYTES })) {
    read += (bytes as Buffer).length;
    yield { bytes: bytes as Buffer, fileBytesRead: read };
  }
}

async function* gunzipFrom(filePath: string, fromOffset: number, limits: SourceLimits): AsyncGenerator<ByteChunk> {
  const file = fs.createReadStream(filePath, { highWaterMark: READ_CHUNK_BYTES });
  const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  let compressed = 0;
  file.on('data', (bytes) => {
    compressed += bytes.length;
  });
  pipeline(file, gunzip, () => undefined);
  let decompressed = 0;
  try {
    for await (const output of gunzip) {
      const bytes = output as Buffer;
      const before = decompressed;
      decompressed += bytes.length;
      checkBomb(decompressed, compressed, limits);
      if (decompressed <= fromOffset) continue;
      yield { bytes: before >= fromOffset ? bytes : bytes.subarray(fromOffset - before), fileBytesRead: compressed };
    }
  } finally {
    file.destroy();
    gunzip.destroy();
  }
}

function checkBomb(decompressed: number, compressed: number, limits: SourceLimits): void {
  if (decompressed > limits.maxDecompressedBytes) {
    throw new ImportFailedError(
      `The file decompresses to more than ${formatBytes(limits.maxDecompressedBytes)}, the limit for a .csv.gz; it was not imported further.`,
    );
  }
  if (decompressed > RATIO_CHECK_AFTER_BYTES && decompressed > compressed * limits.maxCompressionRatio) {
    throw new ImportFailedError(
      `The file expands more than ${limits.maxCompressionRatio}-fold when decompressed, which no real CSV does (a gzip bomb?); it was not imported.`,
    );
  }
}

function asImportFailure(error: unknown, gzip: boolean): Error {
  if (error instanceof ImportFailedError) return error;
  const code = (error as { code?: string } | null)?.code ?? '';
  const detail = error instanceof Error ? error.message : String(error);
  if (gzip && code.startsWith('Z_')) return new ImportFailedError(`The file is not valid gzip data (${detail}).`, { cause: error });
  return new ImportFailedError(`The uploaded file could not be read (${detail}).`, { cause: error });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}
