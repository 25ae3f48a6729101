// The rules of a product's fields, shared by the API schemas and the CSV import,
// so a row and a request are judged the same way.

export const SKU_MAX_LENGTH = 255;
export const NAME_MAX_LENGTH = 1024;
export const DESCRIPTION_MAX_LENGTH = 10_000;
/** Cents must stay exact as JavaScript numbers: 12 integer digits keep them far below 2^53. */
export const PRICE_MAX_INTEGER_DIGITS = 12;

/**
 * 1–255 characters once surrounding whitespace is trimmed, and no control
 * character anywhere (a tab or newline in a SKU is always a mistake).
 */
export const SKU_PATTERN = `^(?![\\s\\S]*\\p{Cc})\\s*(?=\\S)[\\s\\S]{1,${SKU_MAX_LENGTH}}(?<=\\S)\\s*$`;
/** At least one visible character. */
export const NAME_PATTERN = '\\S';
/** A decimal ≥ 0 with at most two decimal places. */
export const PRICE_PATTERN = `^\\d{1,${PRICE_MAX_INTEGER_DIGITS}}(\\.\\d{1,2})?$`;

const skuRegExp = new RegExp(SKU_PATTERN, 'u');
const nameRegExp = new RegExp(NAME_PATTERN, 'u');
const priceRegExp = new RegExp(PRICE_PATTERN, 'u');

/**
 * The identity of a SKU: trimmed, NFC-normalised, lower-cased. Stored in the unique
 * `sku_key` column, so both databases agree on what a duplicate is.
 */
export function skuKey(sku: string): string {
  return sku.trim().normalize('NFC').toLowerCase();
}

export function isValidSku(sku: string): boolean {
  return sku.length <= SKU_MAX_LENGTH * 4 && skuRegExp.test(sku);
}

export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && nameRegExp.test(name);
}

export function isValidPrice(price: string): boolean {
  return priceRegExp.test(price);
}

/** "899.9" -> 89990. The caller has checked isValidPrice. */
export function priceToCents(price: string): number {
  const [whole, fraction = ''] = price.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/** 89990 -> "899.90"; always two decimals, never a float on the way. */
export function centsToPrice(cents: number | null): string | null {
  if (cents === null) return null;
  const whole = Math.trunc(cents / 100);
  const fraction = String(cents % 100).padStart(2, '0');
  return `${whole}.${fraction}`;
}

/**
 * A price as given in JSON (string or number) in canonical string form, or null
 * when it is not a valid price. Numbers are accepted for convenience; `String(12.5)`
 * is exact for the at most two decimals we allow.
 */
export function normalisePriceInput(price: string | number): string | null {
  const text = typeof price === 'number' ? String(price) : price.trim();
  return isValidPrice(text) ? text : null;
}
