import { PostgresAdapter, sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';

// The few SQL expressions whose spelling differs between the dialects.
// Repositories build queries from these and never ask which dialect they run on.

export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Escapes LIKE wildcards so user text matches literally (with ESCAPE '\'). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * `column` contains `term`, ignoring case the same way on both databases: a character of the
 * text matches one of the term when their lower-case forms are equal (Unicode, not only ASCII).
 * PostgreSQL: ILIKE, which lower-cases both sides with the database's Unicode locale.
 * SQLite: its LIKE folds ASCII only. A row that LIKE misses can still match through a case
 * variant LIKE does not fold ('É' for 'é', the Kelvin sign for 'k'), so such rows, and only
 * those, are also tried with GLOB (case-sensitive, 5 times slower than LIKE), where each cased
 * character of the term is the class of its variants: 'École' -> '*[éÉ][cC][oO][lL][eE]*'.
 */
export function containsInsensitive(db: Kysely<any>, column: string, term: string): Expression<SqlBool> {
  const ref = sql.ref(column);
  const pattern = `%${escapeLike(term)}%`;
  if (isPostgres(db)) return sql<SqlBool>`${ref} ilike ${pattern} escape '\\'`;
  const like = sql<SqlBool>`${ref} like ${pattern} escape '\\'`;
  const unfolded = variantsLikeMisses(term);
  if (unfolded.length === 0) return like;
  // instr() finds the rows holding such a variant about as fast as LIKE scans them
  // (a GLOB class would take 4 times longer); only those rows pay for the GLOB.
  const holdsVariant = unfolded.map((variant) => sql<SqlBool>`instr(${ref}, ${variant}) > 0`);
  const glob = sql<SqlBool>`${ref} glob ${`*${caseInsensitiveGlob(term)}*`}`;
  return sql<SqlBool>`(${like} or ((${sql.join(holdsVariant, sql` or `)}) and ${glob}))`;
}

const isAsciiLetter = (char: string) => /^[A-Za-z]$/.test(char);

/** The case variants of the term's characters that SQLite's LIKE does not treat as equal to them. */
function variantsLikeMisses(term: string): string[] {
  const missed = new Set<string>();
  for (const char of term) {
    for (const variant of caseVariantsOf(char)) {
      if (variant !== char && !(isAsciiLetter(variant) && isAsciiLetter(char))) missed.add(variant);
    }
  }
  return [...missed];
}

/** GLOB's own special characters, matched literally as one-character classes. */
const GLOB_SPECIAL = new Set(['*', '?', '[']);

/** A GLOB pattern matching `text` with every character in any case (see containsInsensitive). */
export function caseInsensitiveGlob(text: string): string {
  let pattern = '';
  for (const char of text) {
    const variants = caseVariantsOf(char);
    if (variants.length > 1) pattern += `[${variants.join('')}]`;
    else pattern += GLOB_SPECIAL.has(char) ? `[${char}]` : char;
  }
  return pattern;
}

/** The highest code point whose case we fold: past it no script has case (Unicode 15). */
const LAST_CASED_CODE_POINT = 0x1ffff;
let caseVariantsByLowerCase: Map<string, string[]> | undefined;

/** Every character whose lower-case form is that of `char` (itself included). */
function caseVariantsOf(char: string): string[] {
  caseVariantsByLowerCase ??= buildCaseVariants();
  return caseVariantsByLowerCase.get(char.toLowerCase()) ?? [char];
}

/** Groups the cased characters by lower-case form; built once, on the first search (~10 ms). */
function buildCaseVariants(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (let codePoint = 0; codePoint <= LAST_CASED_CODE_POINT; codePoint += 1) {
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue; // surrogates are not characters
    const char = String.fromCodePoint(codePoint);
    const lower = char.toLowerCase();
    if (lower === char && char.toUpperCase() === char) continue; // uncased
    const group = groups.get(lower);
    if (group) group.push(char);
    else groups.set(lower, [char]);
  }
  // A lower-case form that is one character belongs to its own group (e.g. 'ß', whose
  // upper-case 'SS' is not one character, is alone in its group).
  for (const [lower, group] of groups) if (!group.includes(lower) && [...lower].length === 1) group.push(lower);
  return groups;
}

/** The largest code point: `prefix + MAX_CHAR` is above every string starting with `prefix`. */
const MAX_CHAR = '\u{10FFFF}';

/**
 * `column` starts with `prefix`, as an index range scan: the column must compare
 * byte-wise (SQLite's default; COLLATE "C" on PostgreSQL).
 */
export function startsWith(column: string, prefix: string): Expression<SqlBool> {
  return sql<SqlBool>`(${sql.ref(column)} >= ${prefix} and ${sql.ref(column)} < ${prefix + MAX_CHAR})`;
}

/**
 * The exact number of products, or of the active (true) or inactive (false) ones, without
 * counting rows one by one. PostgreSQL: the sums kept by triggers in product_counts
 * (migration 0007), as count(*) there reads a million index entries (60–130 ms). SQLite:
 * count(*) of the whole table reads only b-tree page headers (< 1 ms); the active ones are
 * all minus the inactive ones, which the (active, id) index counts quickly while they are
 * the minority.
 */
export async function countProducts(db: Kysely<any>, active?: boolean): Promise<number> {
  const query = isPostgres(db)
    ? sql<{ total: number | string | null }>`select sum(${sql.raw(
        active === undefined ? 'total' : active ? 'total - inactive' : 'inactive',
      )}) as total from product_counts`
    : active === undefined
      ? sql<{ total: number }>`select count(*) as total from products`
      : active
        ? sql<{ total: number }>`select (select count(*) from products) - (select count(*) from products where active = 0) as total`
        : sql<{ total: number }>`select count(*) as total from products where active = 0`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.total ?? 0);
}

/**
 * An ISO-8601 timestamp as a typed value, where its column type cannot be inferred (e.g. in
 * a VALUES list): timestamptz on PostgreSQL; on SQLite timestamps are plain text already.
 */
export function timestampValue(db: Kysely<any>, iso: string | null): RawBuilder<string | null> {
  return isPostgres(db) ? sql<string | null>`cast(${iso} as timestamptz)` : sql<string | null>`${iso}`;
}
