import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importMemoryShares } from '../../src/config.js';
import type { ImportedProduct, ImportSink, SinkBatch } from '../../src/db/import-sink.js';
import { PhaseClock } from '../../src/shared/phase-clock.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { openTestDatabase, testConfig, type TestDatabase } from '../support/test-app.js';

// The import sink's contract on each database, below the pipeline: what it does with a write
// that fails, and what it leaves behind.

const product = (sku: string, name: string): ImportedProduct => ({
  sku,
  key: sku.toLowerCase(),
  name,
  description: null,
  priceCents: 100,
  active: 1,
});

const batchOf = (...firsts: ImportedProduct[]): SinkBatch => ({ rows: firsts.length, firsts, lasts: [], errors: [] });

describeEachDialect('import sink on %s', (dialect) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await openTestDatabase(dialect);
  });
  afterAll(async () => {
    await test?.close();
  });

  const openSink = () =>
    test.database.dialect.openImportSink({
      jobId: `sink-${dialect}`,
      columns: { description: true, price: true, active: true },
      clock: new PhaseClock(),
      memory: importMemoryShares(128),
      mergeRows: 1,
    });

  /** A checkpoint whose statement changes nothing, noting each batch committed. */
  const checkpoint = (committed: string[], label: string) => ({
    statement: () => test.database.db.updateTable('jobs').set({ phase: 'importing' }).where('id', '=', 'no-such-job').compile(),
    committed: () => committed.push(label),
  });

  const productCount = async () =>
    Number((await test.database.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('writes batches in order, each committed with its checkpoint, and leaves no staging file behind', async () => {
    const committed: string[] = [];
    const sink = await openSink();
    try {
      await sink.write(batchOf(product('A-1', 'first')), checkpoint(committed, 'one'));
      await sink.write(batchOf(product('A-2', 'second'), product('A-1', 'first again')), checkpoint(committed, 'two'));
      await sink.flush();
    } finally {
      await sink.close();
    }
    expect(committed).toEqual(['one', 'two']);
    const names = await test.database.db.selectFrom('products').select(['sku', 'name']).orderBy('sku').execute();
    expect(names).toEqual([
      { sku: 'A-1', name: 'first again' },
      { sku: 'A-2', name: 'second' },
    ]);
    if (dialect === 'sqlite') {
      const { database } = testConfig(test.store);
      const file = database.dialect === 'sqlite' ? database.file : '';
      const left = fs.readdirSync(path.dirname(file)).filter((name) => name.includes('.import-'));
      expect(left).toEqual([]);
    }
    await test.database.db.deleteFrom('products').execute();
  });

  it('rejects the write after one that failed with its error, keeps nothing of it, and still closes', async () => {
    const committed: string[] = [];
    const sink: ImportSink = await openSink();
    let failure: unknown = null;
    try {
      // A negative price breaks the table's CHECK: the database refuses the batch.
      const nameless = { ...product('B-1', 'negative'), priceCents: -1 };
      await sink.write(batchOf(nameless, product('B-2', 'fine')), checkpoint(committed, 'broken'));
      await sink.flush();
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).toMatch(/check/i);
    await expect(sink.write(batchOf(product('B-3', 'after')), checkpoint(committed, 'after'))).rejects.toBe(failure);
    await sink.close();
    expect(committed).toEqual([]);
    expect(await productCount()).toBe(0);

    // The next import's sink works (SQLite: on the writer thread the failed one used).
    const next = await openSink();
    try {
      await next.write(batchOf(product('C-1', 'next')), checkpoint(committed, 'next'));
      await next.flush();
    } finally {
      await next.close();
    }
    expect(committed).toEqual(['next']);
    expect(await productCount()).toBe(1);
  });

  it('fails the import when a checkpoint cannot be built: nothing from that batch on is written, and the sink still closes', async () => {
    await test.database.db.deleteFrom('products').execute();
    const committed: string[] = [];
    const sink = await openSink();
    const unbuildable = {
      statement: (): never => {
        throw new Error('no checkpoint for this batch');
      },
      committed: () => committed.push('unbuildable'),
    };
    let failure: unknown = null;
    try {
      await sink.write(batchOf(product('D-1', 'one')), checkpoint(committed, 'one'));
      await sink.flush();
      await sink.write(batchOf(product('D-2', 'two')), unbuildable);
      await sink.write(batchOf(product('D-3', 'three')), checkpoint(committed, 'three'));
      await sink.flush();
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).toMatch(/no checkpoint for this batch/);
    await sink.close();
    expect(committed).toEqual(['one']);
    expect(await test.database.db.selectFrom('products').select('sku').execute()).toEqual([{ sku: 'D-1' }]);
  });
});
