import fs from 'node:fs/promises';
import { CsvReader, type CsvRecord } from './imports.csv.js';
import { CsvFileError, ImportFailedError } from './imports.errors.js';
import { mapHeader, type ColumnMap } from './imports.rows.js';
import { readCsvText, type SourceLimits } from './imports.source.js';

// The header row: read from the start of the file by the upload route (to refuse a file
// that is not a CSV before answering 202) and by the pipeline (to map columns, also when
// it resumes mid-file).

const BOM = '\uFEFF';
/** How much of the start of a file is checked for binary content. */
const SNIFF_CHARS = 64 * 1024;
/**
 * The header row must end within this many characters of the start (blank lines included): real
 * headers are a few hundred, and the upload's check runs on the API's thread, so it reads a bounded
 * amount whatever the file holds (a 640 KB header of quotes once held that thread for seconds).
 */
export const MAX_HEADER_CHARS = 64 * 1024;
/** NUL never appears in UTF-8 text, and U+FFFD is what bytes that are not UTF-8 decode to. */
const looksBinary = (text: string) => text.includes('\u0000') || text.includes('\uFFFD');

export interface HeaderRecord {
  fields: string[];
  columns: ColumnMap;
  /** Byte offset of the CSV text just past the header row, and the line that follows it. */
  endOffset: number;
  endLine: number;
  /** Byte length of the BOM the file starts with (0 or 3). */
  bomBytes: number;
}

/**
 * Used by the upload route before answering 202: reads only the start of the file. Throws
 * CsvFileError (its message is for the user: 400) for an empty file, no header row, binary or
 * non-UTF-8 content, invalid gzip, or a missing sku or name column.
 */
export async function inspectCsvFile(
  filePath: string,
  options: { gzip: boolean; limits?: SourceLimits },
): Promise<{ columns: string[]; warnings: string[] }> {
  const header = await readHeaderRecord(filePath, options);
  return { columns: header.fields.map((field) => field.trim()), warnings: header.columns.warnings };
}

export async function readHeaderRecord(filePath: string, options: { gzip: boolean; limits?: SourceLimits }): Promise<HeaderRecord> {
  const { size } = await fs.stat(filePath);
  if (size === 0) throw new CsvFileError('The file is empty.');
  let reader: CsvReader | null = null;
  let bomBytes = 0;
  let sniffed = 0;
  let header: Omit<HeaderRecord, 'columns'> | null = null;
  const onRecord = (record: CsvRecord) => {
    if (header || !reader) return;
    if (record.malformed) throw new CsvFileError(`The header row is malformed CSV (${record.malformed}).`);
    if (record.fields.some((field) => field.includes('\r'))) {
      throw new CsvFileError('The file ends its lines with a bare CR (classic Mac line ends); save it with LF or CRLF line ends.');
    }
    header = { fields: record.fields, endOffset: reader.endOffset(), endLine: reader.endLine(), bomBytes };
  };
  const chunks = readCsvText(filePath, { gzip: options.gzip, fromOffset: 0, limits: options.limits });
  let charsRead = 0;
  try {
    for await (const chunk of chunks) {
      let text = chunk.text;
      if (reader === null) {
        if (text.startsWith(BOM)) {
          text = text.slice(1);
          bomBytes = 3;
        }
        reader = new CsvReader(bomBytes, 1);
      }
      if (sniffed < SNIFF_CHARS) {
        if (looksBinary(text.slice(0, SNIFF_CHARS - sniffed))) {
          throw new CsvFileError('The file is not a CSV: it holds binary data or is not UTF-8 text.');
        }
        sniffed += text.length;
      }
      reader.push(text.slice(0, MAX_HEADER_CHARS - charsRead), onRecord);
      charsRead += Math.min(text.length, MAX_HEADER_CHARS - charsRead);
      if (header) break;
      if (charsRead >= MAX_HEADER_CHARS) {
        throw new CsvFileError(
          `The header row does not end within the first ${MAX_HEADER_CHARS} characters of the file (an unterminated quote?); the first line must name the columns, e.g. sku,name,description,price,active.`,
        );
      }
    }
    if (!header) reader?.finish(onRecord);
  } catch (error) {
    if (error instanceof ImportFailedError) throw new CsvFileError(error.message);
    throw error;
  } finally {
    await chunks.return(undefined);
  }
  if (reader === null) throw new CsvFileError('The file is empty.');
  const found = header as Omit<HeaderRecord, 'columns'> | null;
  if (found === null) throw new CsvFileError('The file has no header row (it holds only blank lines).');
  return { ...found, columns: mapHeader(found.fields) };
}
