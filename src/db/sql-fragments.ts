import { sql, type Expression, type SqlBool } from 'kysely';

// SQL expressions spelled the same on both databases. What differs is in the dialects
// (dialect.sqlite.ts, dialect.postgres.ts).

/** Escapes LIKE wildcards so user text matches literally (with ESCAPE '\'). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
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
