import { sql, type SqlBool } from 'kysely';
import { openSqliteConnection } from './connection.sqlite.js';
import type { SearchIndex, SearchIndexWriter } from './search-index.js';

// SQLite's search index: FTS5 trigram (case-sensitive) over text folded here, in JavaScript, the
// way the predicate folds it; products.search_dirty marks rows to (re)index: 1 = written, never
// indexed (the import's INSERT), 2 = changed since indexed (its UPDATE: the old entry must go).

/** Terms shorter than this (in characters) have no trigram: SQLite answers them by a scan. */
const MIN_INDEXED_TERM_LENGTH = 3;

/**
 * Lower-cases character by character, as the predicate compares (a text character matches a
 * term character when their lower-case forms are equal). String.prototype.toLowerCase is that,
 * except for its one context-dependent rule (final sigma: 'Σ' -> 'ς' at a word's end, 'σ' elsewhere).
 */
function foldForSearch(text: string): string {
  if (!text.includes('Σ')) return text.toLowerCase();
  let folded = '';
  for (const char of text) folded += char.toLowerCase();
  return folded;
}

/** The indexed text of a product: its searchable fields, folded, one per line. */
function searchTextOf(row: { sku: string; name: string; description: string | null }): string {
  return `${foldForSearch(row.sku)}\n${foldForSearch(row.name)}\n${foldForSearch(row.description ?? '')}`;
}

/** The term's distinct trigrams as an FTS5 query: each quoted, all required. */
function trigramQuery(folded: string): string {
  const chars = [...folded];
  const trigrams = new Set<string>();
  for (let start = 0; start + 3 <= chars.length; start += 1) trigrams.add(chars.slice(start, start + 3).join(''));
  return [...trigrams].map((trigram) => `"${trigram.replace(/"/g, '""')}"`).join(' AND ');
}

export function sqliteSearchIndex(file: string, cacheKib?: number): SearchIndex {
  return {
    candidates(term) {
      const folded = foldForSearch(term);
      if ([...folded].length < MIN_INDEXED_TERM_LENGTH) return null;
      // The index's trigram matches, as FTS5 yields them (so a count that stops early reads few:
      // `id in (…)` gathered every candidate first, 300k+ for 'the'), less rows marked dirty (their
      // entry may be stale), then the dirty rows. Trigrams found apart are no substring, so every
      // row is checked by the caller.
      const match = trigramQuery(folded);
      const indexed = sql`product_search f join products p on p.id = f.rowid where product_search match ${match} and p.search_dirty = 0`;
      return {
        rows: sql`(select p.* from ${indexed} union all select * from products where search_dirty > 0)`,
        ids: sql`(select p.id from ${indexed} union all select id from products where search_dirty > 0)`,
        membership: sql<SqlBool>`products.id in (select rowid from product_search where product_search match ${match}
          union all select id from products where search_dirty > 0)`,
        matchesAnyField: false,
      };
    },
    async markForIndexing(db, ids) {
      if (ids.length === 0) return;
      await sql`update products set search_dirty = 2 where id in (${sql.join([...ids])})`.execute(db);
    },
    async countUnindexed(db) {
      const { rows } = await sql<{ count: number }>`select count(*) as count from products where search_dirty > 0`.execute(db);
      return Number(rows[0]?.count ?? 0);
    },
    async reset(db) {
      await db.transaction().execute(async (trx) => {
        await sql`insert into product_search (product_search) values ('delete-all')`.execute(trx);
        await sql`update products set search_dirty = 1 where search_dirty = 0`.execute(trx);
      });
    },
    openWriter: () => openSqliteIndexWriter(file, cacheKib),
  };
}

interface DirtyRow {
  id: number;
  sku: string;
  name: string;
  description: string | null;
  search_dirty: number;
}

function openSqliteIndexWriter(file: string, cacheKib: number | undefined): SearchIndexWriter {
  const connection = openSqliteConnection(file, { cacheKib });
  connection.pragma('busy_timeout = 0');
  const selectDirty = connection.prepare<[number], DirtyRow>(
    'select id, sku, name, description, search_dirty from products where search_dirty > 0 order by id limit ?',
  );
  const deleteEntry = connection.prepare('delete from product_search where rowid = ?');
  const insertEntry = connection.prepare('insert into product_search (rowid, text) values (?, ?)');
  const markClean = connection.prepare('update products set search_dirty = 0 where id = ?');
  const anyDirty = connection.prepare('select 1 from products where search_dirty > 0 limit 1').pluck();
  const indexRows = connection.transaction((limit: number) => {
    const rows = selectDirty.all(limit);
    for (const row of rows) {
      if (row.search_dirty === 2) deleteEntry.run(row.id);
      insertEntry.run(row.id, searchTextOf(row));
      markClean.run(row.id);
    }
    return rows.length;
  });
  let closed = false;
  return {
    targetBatchMs: 25,
    restRatio: 1,
    async indexBatch(limit) {
      // Look with a read first (never waits in WAL mode): an idle poll takes no write lock.
      if (anyDirty.get() === undefined) return { indexed: 0, busy: false };
      try {
        return { indexed: indexRows.immediate(limit), busy: false };
      } catch (error) {
        if (isSqliteBusy(error)) return { indexed: 0, busy: true };
        throw error;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      connection.close();
    },
  };
}

function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}
