import fs from 'node:fs';
import process from 'node:process';
import BetterSqlite3 from 'better-sqlite3';

// Loaded into a server process of merge-kill.test.ts (`--import`, which its job threads run
// too): holds an SQLite import in the middle of its merge statement, with no hook in the app.
// Each connection that prepares an upsert into products from the staging table (the import's
// own) gets a temporary trigger that fires inside that statement when it inserts the product
// whose key is TEST_MERGE_HOLD_SKU_KEY, and calls a function of ours: it prints
// MERGE_HELD_LINE on stderr and blocks the job thread for good, in the middle of the statement
// (the rows before that key are written, the rows after it not yet), until the process is killed.

const MERGE_HELD_LINE = 'merge held at'; // merge-kill.test.ts waits for this line

/** Pages (4 KiB each): far fewer than a batch's merge dirties. */
const SPILLING_CACHE_PAGES = 64;

const key = process.env.TEST_MERGE_HOLD_SKU_KEY;
if (key) {
  const armed = new WeakSet();
  const prepare = BetterSqlite3.prototype.prepare;
  BetterSqlite3.prototype.prepare = function prepareArmed(source) {
    if (!armed.has(this) && /^\s*insert\s+into\s+products\b[\s\S]*\bimport_staging\b/i.test(source)) {
      armed.add(this);
      // A small page cache: the merge spills pages of the batch into the WAL before the hold, so the
      // crash leaves them there uncommitted, as a large import does once its dirty pages outgrow the cache.
      this.pragma(`cache_size = ${SPILLING_CACHE_PAGES}`);
      this.function('test_hold_merge', () => {
        fs.writeSync(2, `${MERGE_HELD_LINE} ${key}\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        return null;
      });
      this.exec(`create temp trigger test_hold_merge after insert on main.products
        when new.sku_key = '${key.replaceAll("'", "''")}' begin select test_hold_merge(); end`);
    }
    return prepare.call(this, source);
  };
}
