import type { ErrorReportColumns } from '../jobs/jobs.kind.js';
import type { JobRow } from '../jobs/jobs.repository.js';

/**
 * The columns of an import's CSV error report after `line` and `error`: the file's own header
 * and each rejected row's cells as they were, so the report can be fixed and uploaded again.
 * Null when the job kept no header (the report then shows the SKU).
 */
export function importErrorReport(row: JobRow): ErrorReportColumns | null {
  const columns = parseColumns(row.csv_columns);
  return columns && { header: columns, cellsOf: (error) => parseCsvRecord(error.raw ?? '') };
}

function parseColumns(text: string | null): string[] | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.length > 0 ? value.map(String) : null;
  } catch {
    return null;
  }
}

/** Splits one CSV record (as stored with its error: the raw text of the row) into its fields. */
export function parseCsvRecord(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[index + 1] === '"') {
        field += '"';
        index++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}
