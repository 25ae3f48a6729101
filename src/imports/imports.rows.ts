import type { ImportedProduct } from '../db/import-sink.js';
import {
  DESCRIPTION_MAX_LENGTH,
  NAME_MAX_LENGTH,
  SKU_MAX_LENGTH,
  isValidName,
  isValidPrice,
  isValidSku,
  priceToCents,
  skuKey,
} from '../products/products.rules.js';
import { CsvFileError } from './imports.errors.js';

// From CSV fields to product values, judged by the same rules as the API (products.rules.ts).
//
// An empty cell means the field's default, as if the API had been sent no value for it on
// create: description null, price null (unknown), active true. A column the file does not
// have at all is different: it never changes that field of existing products.

export const OPTIONAL_COLUMNS = ['description', 'price', 'active'] as const;
export type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];
const KNOWN_COLUMNS = new Set<string>(['sku', 'name', ...OPTIONAL_COLUMNS]);

/** Where each known column is in a record; null for an optional column the file lacks. */
export interface ColumnMap {
  sku: number;
  name: number;
  description: number | null;
  price: number | null;
  active: number | null;
  /** Fields every record must have: the header's count. */
  fieldCount: number;
  warnings: string[];
}

export function mapHeader(header: readonly string[]): ColumnMap {
  const positions = new Map<string, number>();
  const unknown: string[] = [];
  header.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!KNOWN_COLUMNS.has(name)) {
      unknown.push(raw.trim() === '' ? '(unnamed)' : raw.trim());
    } else if (positions.has(name)) {
      throw new CsvFileError(`The header row names the column "${name}" more than once.`);
    } else {
      positions.set(name, index);
    }
  });
  const missing = ['sku', 'name'].filter((name) => !positions.has(name));
  if (missing.length > 0) {
    const found = header.map((name) => name.trim()).join(', ').slice(0, 200);
    throw new CsvFileError(
      `The header row has no ${missing.join(' or ')} column (found: ${found}). ` +
        'The first line must name the columns, e.g. sku,name,description,price,active.',
    );
  }
  return {
    sku: positions.get('sku') as number,
    name: positions.get('name') as number,
    description: positions.get('description') ?? null,
    price: positions.get('price') ?? null,
    active: positions.get('active') ?? null,
    fieldCount: header.length,
    warnings: unknown.length > 0 ? [unknownColumnsWarning(unknown)] : [],
  };
}

/** Unknown columns named in the job's warning; the warning goes out with every progress event and job listing. */
export const MAX_NAMED_UNKNOWN_COLUMNS = 20;
/** Each name as shown in the warning (a column name may be as long as the header). */
const MAX_COLUMN_NAME_CHARS = 100;

function unknownColumnsWarning(unknown: readonly string[]): string {
  const named = unknown
    .slice(0, MAX_NAMED_UNKNOWN_COLUMNS)
    .map((name) => (name.length > MAX_COLUMN_NAME_CHARS ? `${name.slice(0, MAX_COLUMN_NAME_CHARS)}…` : name));
  const more = unknown.length - named.length;
  return `Unknown columns ignored: ${named.join(', ')}${more > 0 ? ` … and ${more.toLocaleString('en-US')} more` : ''}`;
}

/** A valid row's values, as stored. */
/** A valid row: the product as the import writes it. */
export type ProductValues = ImportedProduct;

export interface RowProblem {
  sku: string | null;
  field: string | null;
  message: string;
}

const REPLACEMENT_CHARACTER = '\uFFFD';
const NUL = '\u0000';
const CONTROL_CHARACTER = /\p{Cc}/u;
const ACTIVE_VALUES = new Map<string, 0 | 1>([
  ['true', 1],
  ['1', 1],
  ['yes', 1],
  ['false', 0],
  ['0', 0],
  ['no', 0],
]);

/** The product in a record, or why the record is rejected (the first problem found). */
export function validateRecord(fields: readonly string[], columns: ColumnMap, malformed: string | null): ProductValues | RowProblem {
  const rawSku = fields[columns.sku];
  const reportedSku = rawSku === undefined ? null : rawSku.trim().slice(0, SKU_MAX_LENGTH) || null;
  const problem = (field: string | null, message: string): RowProblem => ({ sku: reportedSku, field, message });
  if (malformed !== null) return problem(null, `Malformed CSV: ${malformed}`);
  if (fields.length !== columns.fieldCount) {
    return problem(null, `Expected ${columns.fieldCount} fields, found ${fields.length}`);
  }
  if (fields.some((field) => field.includes(REPLACEMENT_CHARACTER))) {
    return problem(null, 'The row is not valid UTF-8 text');
  }
  if (fields.some((field) => field.includes(NUL))) return problem(null, 'The row contains a NUL character');
  const sku = rawSku as string;
  if (!isValidSku(sku)) return problem('sku', skuProblem(sku));
  const name = fields[columns.name] as string;
  if (!isValidName(name)) {
    return problem('name', name.length > NAME_MAX_LENGTH ? `Name is longer than ${NAME_MAX_LENGTH} characters` : 'Name is blank');
  }
  const description = columns.description === null ? null : (fields[columns.description] as string) || null;
  if (description !== null && description.length > DESCRIPTION_MAX_LENGTH) {
    return problem('description', `Description is longer than ${DESCRIPTION_MAX_LENGTH} characters`);
  }
  let priceCents: number | null = null;
  if (columns.price !== null) {
    const price = (fields[columns.price] as string).trim();
    if (price !== '') {
      if (!isValidPrice(price)) {
        return problem('price', `Price must be a decimal ≥ 0 with at most 2 decimal places, got "${price.slice(0, 40)}"`);
      }
      priceCents = priceToCents(price);
    }
  }
  let active: 0 | 1 = 1;
  if (columns.active !== null) {
    const text = (fields[columns.active] as string).trim();
    if (text !== '') {
      const value = ACTIVE_VALUES.get(text.toLowerCase());
      if (value === undefined) {
        return problem('active', `Active must be one of true, false, 1, 0, yes, no, got "${text.slice(0, 40)}"`);
      }
      active = value;
    }
  }
  const trimmed = sku.trim();
  return { sku: trimmed, key: skuKey(trimmed), name, description, priceCents, active };
}

function skuProblem(sku: string): string {
  const trimmed = sku.trim();
  if (trimmed === '') return 'SKU is empty';
  if (CONTROL_CHARACTER.test(sku)) return 'SKU contains a control character';
  if ([...trimmed].length > SKU_MAX_LENGTH) return `SKU is longer than ${SKU_MAX_LENGTH} characters`;
  return 'SKU is not valid';
}

export function isRowProblem(result: ProductValues | RowProblem): result is RowProblem {
  return 'message' in result;
}
