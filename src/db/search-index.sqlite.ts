import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { isSqliteBusy, openSqliteConnection } from './connection.sqlite.js';
import type { Executor } from './database.schema.js';
import { JOB_RUNNING, type SearchIndex, type SearchIndexWriter, type SearchScope } from './search-index.js';

// SQLite's search index: FTS5 trigram (case-sensitive) over text folded here, in JavaScript, the
// way the predicate folds it (product_search: all the searchable fields; product_search_name: the
// name alone, for the `name` filter); products.search_dirty marks rows to (re)index: 1 = written, never
// indexed (the import's INSERT), 2 = changed since indexed (its UPDATE: the old entry must go).

const TRIGRAM_LENGTH = 3;

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

/** The indexed texts of a product: all its searchable fields (one per line), and its name alone. */
function searchTextsOf(row: { sku: string; name: string; description: string | null }): { all: string; name: string } {
  const name = foldForSearch(row.name);
  return { all: `${foldForSearch(row.sku)}\n${name}\n${foldForSearch(row.description ?? '')}${TEXT_END}`, name: `${name}${TEXT_END}` };
}

/**
 * Ends every indexed text (migration 0013), so that each character of the fields starts a
 * trigram: a term of 1–2 characters is then the prefix of a trigram wherever it occurs.
 */
const TEXT_END = '\n\n';

type Vocabulary = 'product_search_vocab' | 'product_search_name_vocab';

/**
 * The index's tables for each scope: the FTS5 table and its vocabulary (its trigrams, sorted). A
 * description's trigrams are found in the whole text's (every candidate is checked on the row).
 */
const TABLES: Record<SearchScope, { index: string; vocabulary: Vocabulary }> = {
  any: { index: 'product_search', vocabulary: 'product_search_vocab' },
  name: { index: 'product_search_name', vocabulary: 'product_search_name_vocab' },
  description: { index: 'product_search', vocabulary: 'product_search_vocab' },
};

const quoted = (trigram: string) => `"${trigram.replace(/"/g, '""')}"`;

/** The term's distinct trigrams as an FTS5 query: each quoted, all required. */
function trigramQuery(chars: string[]): string {
  const trigrams = new Set<string>();
  for (let start = 0; start + TRIGRAM_LENGTH <= chars.length; start += 1) trigrams.add(chars.slice(start, start + TRIGRAM_LENGTH).join(''));
  return [...trigrams].map(quoted).join(' AND ');
}

/**
 * How many index entries (a row per trigram it holds) a short term's trigrams may have for the
 * index to answer it. Past it the term is common and a scan of the products finds 10,001 matches
 * sooner (its first rows hold it): listing `e`'s trigrams alone (14M entries) took 0.5 s, the scan
 * 3 ms. Below it, the list takes a few ms (about 30 ns an entry).
 */
const SHORT_TERM_MAX_ENTRIES = 1_000_000;

/**
 * A term of 1–2 characters as an FTS5 query: any of the indexed trigrams it begins, listed from
 * the index's vocabulary (a range of its sorted terms; UTF-8 sorts by code point), so a rare
 * term reads a few short doclists instead of every product. Undefined when a scan answers it
 * better: the term is common (see SHORT_TERM_MAX_ENTRIES; the list is read as it comes and
 * dropped there), or the range has no end (the term ends in U+10FFFF).
 *
 * The query is a subquery listing the trigrams again, so that each statement reads them in the
 * snapshot it reads the dirty marks in: a list taken before would miss the trigrams of a row the
 * indexer indexes (and so marks clean) between the two reads.
 */
async function shortTermQuery(db: Executor, vocabulary: Vocabulary, chars: string[]): Promise<RawBuilder<string> | undefined> {
  const last = (chars.at(-1) as string).codePointAt(0) as number;
  if (last === 0x10ffff) return undefined;
  // The next code point (skipping surrogates, which no text holds) bounds the prefix's range.
  const prefix = chars.join('');
  const end = chars.slice(0, -1).join('') + String.fromCodePoint(last + 1 === 0xd800 ? 0xe000 : last + 1);
  const trigrams = db
    .withTables<Record<Vocabulary, { term: string; doc: number }>>()
    .selectFrom(vocabulary)
    .select('doc')
    .where('term', '>=', prefix)
    .where('term', '<', end)
    .stream();
  let entries = 0;
  for await (const { doc } of trigrams) {
    entries += doc;
    if (entries > SHORT_TERM_MAX_ENTRIES) return undefined;
  }
  // No trigram at all: '"x"' (under 3 characters, it holds no trigram) is a query matching nothing.
  return sql<string>`(select coalesce(group_concat('"' || replace(term, '"', '""') || '"', ' OR '), '"x"')
    from ${sql.table(vocabulary)} where term >= ${prefix} and term < ${end})`;
}

/** The columns of products the index holds (SearchIndex.indexedColumns; the import marks rows by them). */
export const SQLITE_INDEXED_COLUMNS: ReadonlySet<string> = new Set(['sku', 'name', 'description']);

export function sqliteSearchIndex(file: string, cacheKib?: number): SearchIndex {
  return {
    indexedColumns: SQLITE_INDEXED_COLUMNS,
    async candidates(db, term, scope, active) {
      const { index, vocabulary } = TABLES[scope];
      const chars = [...foldForSearch(term)];
      const match = chars.length >= TRIGRAM_LENGTH ? trigramQuery(chars) : await shortTermQuery(db, vocabulary, chars);
      if (match === undefined) return null;
      // The index's trigram matches, as FTS5 yields them (so a count that stops early reads few:
      // `id in (…)` gathered every candidate first, 300k+ for 'the'), then the rows marked dirty.
      // While no job runs the dirty rows come whole, and their entries (stale, if any) are left
      // out; while one runs only their entries are read (search-index.ts). Trigrams found apart
      // are no substring, nor is a trigram a short term begins, so every row is checked by the caller.
      const dirty = (columns: RawBuilder<unknown>) => sql`select ${columns} from products where search_dirty > 0 and not ${JOB_RUNNING}`;
      const dirtyIds = dirty(sql`id`);
      const table = sql.table(index);
      // Beside `active=false`, the inactive products' ids (the (active, id) index: ~2 ms per 100k)
      // are gathered first, so only the inactive candidates' rows are read and checked
      // (`q=window&active=false` at 1M, 22k candidates for 2,175 matches: 78 -> 37 ms in
      // better-sqlite3). Inactive products are taken to be the minority, as countProducts does. `+ 0`
      // keeps the match the outer loop: with the set as the rowid's constraint, SQLite ran the
      // match once per inactive id (minutes).
      const inactiveOnly = active === false ? sql`and f.rowid + 0 in (select id from products where active = 0)` : sql``;
      const indexed = sql`${table} f join products p on p.id = f.rowid where ${table} match ${match} ${inactiveOnly}
        and (p.search_dirty = 0 or ${JOB_RUNNING})`;
      return {
        rows: sql`(select p.* from ${indexed} union all ${dirty(sql`*`)})`,
        ids: sql`(select p.id from ${indexed} union all ${dirtyIds})`,
        membership: sql<SqlBool>`products.id in (select rowid from ${table} where ${table} match ${match} union all ${dirtyIds})`,
        exact: false,
        readsEveryRow: false,
        filtersActive: false,
      };
    },
    async indexNow(db, ids) {
      if (ids.length === 0) return;
      const idList = sql.join([...ids]);
      const { rows } = await sql<DirtyRow>`select id, sku, name, description, search_dirty from products where id in (${idList})`.execute(db);
      for (const row of rows) {
        if (hasEntry(row.search_dirty)) {
          await sql`delete from product_search where rowid = ${row.id}`.execute(db);
          await sql`delete from product_search_name where rowid = ${row.id}`.execute(db);
        }
        const texts = searchTextsOf(row);
        await sql`insert into product_search (rowid, text) values (${row.id}, ${texts.all})`.execute(db);
        await sql`insert into product_search_name (rowid, name) values (${row.id}, ${texts.name})`.execute(db);
      }
      await sql`update products set search_dirty = 0 where id in (${idList})`.execute(db);
    },
    async skipsUnindexedRows(db) {
      const { rows } = await sql<{ skips: number }>`select ${JOB_RUNNING} and exists (select 1 from products where search_dirty > 0) as skips`.execute(db);
      return rows[0]?.skips === 1;
    },
    async countUnindexed(db) {
      const { rows } = await sql<{ count: number }>`select count(*) as count from products where search_dirty > 0`.execute(db);
      return Number(rows[0]?.count ?? 0);
    },
    async reset(db) {
      await db.transaction().execute(async (trx) => {
        await sql`insert into product_search (product_search) values ('delete-all')`.execute(trx);
        await sql`insert into product_search_name (product_search_name) values ('delete-all')`.execute(trx);
        await sql`update products set search_dirty = 1 where search_dirty = 0`.execute(trx);
      });
    },
    openWriter: () => openSqliteIndexWriter(file, cacheKib),
  };
}

/** A product as the index reads it: its texts and its mark. */
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
  const deleteNameEntry = connection.prepare('delete from product_search_name where rowid = ?');
  const insertEntry = connection.prepare('insert into product_search (rowid, text) values (?, ?)');
  const insertNameEntry = connection.prepare('insert into product_search_name (rowid, name) values (?, ?)');
  const markClean = connection.prepare('update products set search_dirty = 0 where id = ?');
  const anyDirty = connection.prepare('select 1 from products where search_dirty > 0 limit 1').pluck();
  const indexRows = connection.transaction((limit: number) => {
    const rows = selectDirty.all(limit);
    for (const row of rows) {
      if (hasEntry(row.search_dirty)) {
        deleteEntry.run(row.id);
        deleteNameEntry.run(row.id);
      }
      const texts = searchTextsOf(row);
      insertEntry.run(row.id, texts.all);
      insertNameEntry.run(row.id, texts.name);
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
    caughtUp: async () => undefined,
    async close() {
      if (closed) return;
      closed = true;
      connection.close();
    },
  };
}

/** Whether a product's search_dirty mark says the index holds an entry of it (to delete before writing the new one). */
function hasEntry(searchDirty: number): boolean {
  return searchDirty !== 1;
}
