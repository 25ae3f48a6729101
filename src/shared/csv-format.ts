// Writing CSV that spreadsheets open safely.

/** Characters that make Excel, LibreOffice or Sheets read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell: defused against formula injection (a leading `'` makes spreadsheets
 * show the text as text), then quoted when it holds a separator, quote or newline.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvLine(cells: readonly (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** Turns rows into CSV text in chunks of about `chunkBytes`, for a streamed response. */
export async function* csvChunks<T>(
  header: readonly string[],
  rows: AsyncIterable<T>,
  cellsOf: (row: T) => readonly (string | number | boolean | null)[],
  chunkBytes = 64 * 1024,
): AsyncGenerator<string> {
  let chunk = csvLine(header);
  for await (const row of rows) {
    chunk += csvLine(cellsOf(row));
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
