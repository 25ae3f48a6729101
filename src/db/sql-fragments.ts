import { PostgresAdapter, sql, type Expression, type Kysely, type SqlBool } from 'kysely';

// The few SQL expressions whose spelling differs between the dialects.
// Repositories build queries from these and never ask which dialect they run on.

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Escapes LIKE wildcards so user text matches literally (with ESCAPE '\'). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * `column` contains `term`, ignoring case. PostgreSQL: ILIKE (Unicode-aware).
 * SQLite: LIKE, which folds ASCII case; `term` is lower-cased first so non-ASCII
 * letters match their lower-case form as stored.
 */
export function containsInsensitive(db: Kysely<any>, column: string, term: string): Expression<SqlBool> {
  const pattern = `%${escapeLike(term)}%`;
  return isPostgres(db)
    ? sql<SqlBool>`${sql.ref(column)} ilike ${pattern} escape '\\'`
    : sql<SqlBool>`${sql.ref(column)} like ${pattern} escape '\\'`;
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
