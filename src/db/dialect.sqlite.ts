import { sql, type Expression, type SqlBool } from 'kysely';
import { sqliteImportWriters } from './import-sink.sqlite.js';
import { sqliteSearchIndex } from './search-index.sqlite.js';
import type { Executor } from './database.schema.js';
import type { SqlDialect } from './sql-dialect.js';
import { escapeLike } from './sql-fragments.js';

/** SQLite's side of every difference between the databases (see SqlDialect); `cacheKib`: the search indexer connection's page cache. */
export function sqliteDialect(file: string, cacheKib?: number): SqlDialect {
  const importWriters = sqliteImportWriters(file);
  return {
    containsInsensitive,
    countProducts: productCounter(),
    // Timestamps are ISO-8601 text already.
    timestampValue: (iso) => sql<string | null>`${iso}`,
    walkingIndexOrder: (db, read) => read(db),
    searchIndex: sqliteSearchIndex(file, cacheKib),
    openImportSink: (options) => importWriters.openSink(options),
    close: () => importWriters.close(),
  };
}

/** Which product counts are those of the database as it is now: see productCounter. */
interface CountsKey {
  /** total_changes(): rows this connection has written since it opened. */
  own: number;
  /** PRAGMA data_version: changes when another connection (an import's writer, the indexer) commits. */
  others: number;
}

/**
 * countProducts: count(*) of the whole table (SQLite's count reads only the b-tree pages' headers,
 * but every leaf page of the smallest index: 12–15 ms at 1M products with the connection's 4 MiB
 * page cache, on every unfiltered page of the list); the active ones are all minus the inactive
 * ones, which the (active, id) index counts quickly while they are the minority.
 *
 * The counts are kept until the database changes: the key of the state they were counted in is
 * read in the same statement, and a later state with the same key is the same data (no commit of
 * another connection, no write of this one). Kept per connection (its Kysely instance): both parts
 * of the key are the connection's own. Outside transactions only: inside one, its own uncommitted
 * rows would be counted, and a rollback does not change the key.
 */
function productCounter(): SqlDialect['countProducts'] {
  const byConnection = new WeakMap<Executor, { key: CountsKey; totals: Map<boolean | undefined, number> }>();
  const keyColumns = sql`total_changes() as own, (select data_version from pragma_data_version) as others`;
  const sameKey = (a: CountsKey, b: CountsKey) => a.own === b.own && a.others === b.others;
  return async (db, active) => {
    const query =
      active === undefined
        ? sql`select count(*) from products`
        : active
          ? sql`select (select count(*) from products) - (select count(*) from products where active = 0)`
          : sql`select count(*) from products where active = 0`;
    if (db.isTransaction) {
      const { rows } = await sql<{ total: number }>`select (${query}) as total`.execute(db);
      return Number(rows[0]?.total ?? 0);
    }
    const { rows: keys } = await sql<CountsKey>`select ${keyColumns}`.execute(db);
    const key = keys[0] as CountsKey;
    let counted = byConnection.get(db);
    const known = counted && sameKey(counted.key, key) ? counted.totals.get(active) : undefined;
    if (known !== undefined) return known;
    const { rows } = await sql<CountsKey & { total: number }>`select ${keyColumns}, (${query}) as total`.execute(db);
    const row = rows[0] as CountsKey & { total: number };
    const state = { own: row.own, others: row.others };
    if (!counted || !sameKey(counted.key, state)) {
      counted = { key: state, totals: new Map() };
      byConnection.set(db, counted);
    }
    counted.totals.set(active, Number(row.total));
    return Number(row.total);
  };
}

/**
 * SQLite's LIKE folds ASCII only. A row that LIKE misses can still match through a case
 * variant LIKE does not fold ('É' for 'é', the Kelvin sign for 'k'), so such rows, and only
 * those, are also tried with GLOB (case-sensitive, 5 times slower than LIKE), where each cased
 * character of the term is the class of its variants: 'École' -> '*[éÉ][cC][oO][lL][eE]*'.
 */
function containsInsensitive(column: string, term: string): Expression<SqlBool> {
  const ref = sql.ref(column);
  const like = sql<SqlBool>`${ref} like ${`%${escapeLike(term)}%`} escape '\\'`;
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
function caseInsensitiveGlob(text: string): string {
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
