import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, testConfig, type TestApp } from '../support/test-app.js';

// The list's search and counting paths that differ per database underneath (SQLite GLOB with
// case classes vs PostgreSQL ILIKE; trigger-kept counts vs count(*)) must answer the same.

interface Listed {
  items: { id: number; sku: string }[];
  total: number;
  pages: number;
}

const CATALOG = [
  { sku: 'ÉCOLE-1', name: 'Cahier ÉTÉ', description: 'ΣΟΦΙΑ ΚΑΙ ΓΝΩΣΗ', active: true },
  { sku: 'ecole-2', name: 'Plain school', description: 'no accents here', active: true },
  { sku: 'ÄRGER-3', name: 'Straße Karte', description: 'Ölkännchen, МОСКВА', active: false },
  { sku: 'STAR-4', name: 'a*b?c[d]', description: '50% off_today', active: true },
  { sku: 'star-5', name: '5 off today', description: '50 percent', active: true },
  // U+212A KELVIN SIGN, whose lower case is the ASCII 'k': ASCII search terms can match it too.
  { sku: 'THERMO-6', name: '300 \u212A probe', description: null, active: true },
];

describeEachDialect('product list search and counts on %s', (dialect) => {
  let t: TestApp;
  const list = async (query: string): Promise<Listed> => {
    const response = await t.app.inject({ method: 'GET', url: `/api/products?${query}` });
    expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
    return response.json();
  };
  const skusFor = async (query: string) => (await list(query)).items.map((item) => item.sku);
  const ids = new Map<string, number>();

  beforeAll(async () => {
    t = await startTestApp(dialect);
    for (const product of CATALOG) {
      const response = await t.app.inject({ method: 'POST', url: '/api/products', payload: product });
      expect(response.statusCode).toBe(201);
      ids.set(product.sku, response.json().id);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('folds case beyond ASCII in q, name and description, the same on both databases', async () => {
    expect(await skusFor(`q=${encodeURIComponent('école')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor(`q=${encodeURIComponent('ÉCOLE')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor(`q=${encodeURIComponent('été')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor(`q=${encodeURIComponent('σοφια')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor(`q=${encodeURIComponent('москва')}`)).toEqual(['ÄRGER-3']);
    expect(await skusFor(`q=${encodeURIComponent('äRGER')}`)).toEqual(['ÄRGER-3']);
    expect(await skusFor(`name=${encodeURIComponent('STRASSE')}`)).toEqual([]);
    expect(await skusFor(`name=${encodeURIComponent('STRAßE')}`)).toEqual(['ÄRGER-3']);
    expect(await skusFor(`description=${encodeURIComponent('ölKÄNN')}`)).toEqual(['ÄRGER-3']);
    expect(await skusFor(`name=${encodeURIComponent('cahier é')}`)).toEqual(['ÉCOLE-1']);
  });

  it('matches characters whose case variant is outside ASCII, such as the Kelvin sign for k', async () => {
    expect(await skusFor(`q=${encodeURIComponent('k probe')}`)).toEqual(['THERMO-6']);
    expect(await skusFor(`name=${encodeURIComponent('300 K')}`)).toEqual(['THERMO-6']);
    expect(await skusFor('q=karte')).toEqual(['ÄRGER-3']);
  });

  it('does not fold accents: e and é are different letters', async () => {
    expect(await skusFor('q=ecole')).toEqual(['ecole-2']);
    expect(await skusFor(`q=${encodeURIComponent('écol')}`)).toEqual(['ÉCOLE-1']);
  });

  it('matches LIKE and GLOB wildcards in the search text literally', async () => {
    expect(await skusFor(`q=${encodeURIComponent('50%')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('f_t')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('%')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('_')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('a*b')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('*')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('b?c[d]')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('[')}`)).toEqual(['STAR-4']);
    expect(await skusFor(`q=${encodeURIComponent('\\')}`)).toEqual([]);
  });

  it('filters by sku prefix ignoring case, accents included', async () => {
    expect(await skusFor(`sku=${encodeURIComponent('éco')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor(`sku=${encodeURIComponent('ÉCO')}`)).toEqual(['ÉCOLE-1']);
    expect(await skusFor('sku=eco')).toEqual(['ecole-2']);
    expect(await skusFor(`sku=${encodeURIComponent('är')}`)).toEqual(['ÄRGER-3']);
    expect(await skusFor('sku=STAR')).toEqual(['STAR-4', 'star-5']);
  });

  it('pages deep and sorted through the same rows', async () => {
    const byName = await skusFor('sort=name&page_size=2&page=2');
    const all = await skusFor('sort=name');
    expect(byName).toEqual(all.slice(2, 4));
    const desc = await skusFor('sort=name&order=desc&page_size=2&page=3');
    expect(desc).toEqual([...all].reverse().slice(4, 6));
  });

  it('keeps exact totals, overall and by active, through creates, updates and deletes', async () => {
    const totals = async () => [(await list('')).total, (await list('active=true')).total, (await list('active=false')).total];
    expect(await totals()).toEqual([6, 5, 1]);

    const created = await t.app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'NEW-6', name: 'New', active: false } });
    expect(created.statusCode).toBe(201);
    expect(await totals()).toEqual([7, 5, 2]);

    const soft = await t.app.inject({ method: 'DELETE', url: `/api/products/${ids.get('STAR-4')}?soft=true` });
    expect(soft.statusCode).toBe(200);
    expect(await totals()).toEqual([7, 4, 3]);

    const reactivated = await t.app.inject({ method: 'PATCH', url: `/api/products/${ids.get('ÄRGER-3')}`, payload: { active: true } });
    expect(reactivated.statusCode).toBe(200);
    const renamed = await t.app.inject({ method: 'PATCH', url: `/api/products/${ids.get('star-5')}`, payload: { name: 'Renamed' } });
    expect(renamed.statusCode).toBe(200);
    expect(await totals()).toEqual([7, 5, 2]);

    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/products/${created.json().id}` });
    expect(deleted.statusCode).toBe(204);
    const selected = await t.app.inject({
      method: 'POST',
      url: '/api/products/delete',
      payload: { ids: [ids.get('ecole-2'), ids.get('STAR-4')] },
    });
    expect(selected.json()).toEqual({ deleted: 2 });
    expect(await totals()).toEqual([4, 4, 0]);
    expect((await list('page_size=1')).pages).toBe(4);
  });

  // SQLite keeps the counts until the database changes (dialect.sqlite.ts, productCounter): a
  // commit of another connection, a write of the app's own, but never a transaction's own rows.
  it("counts another connection's writes and never a rolled-back transaction's rows", async () => {
    const totals = async () => [(await list('')).total, (await list('active=false')).total];
    const before = await totals();

    const other = createDatabase(testConfig(t.store).database);
    try {
      const now = new Date().toISOString();
      await other.db
        .insertInto('products')
        .values({ sku: 'OTHER-1', sku_key: 'other-1', name: 'From elsewhere', active: 0, created_at: now, updated_at: now })
        .execute();
      expect(await totals()).toEqual([before[0]! + 1, before[1]! + 1]);
      await other.db.deleteFrom('products').where('sku_key', '=', 'other-1').execute();
      expect(await totals()).toEqual(before);
    } finally {
      await other.close();
    }

    const { database } = t.runtime;
    const rolledBack = new Error('roll back');
    await expect(
      database.db.transaction().execute(async (tx) => {
        const now = new Date().toISOString();
        await tx.insertInto('products').values({ sku: 'GONE-1', sku_key: 'gone-1', name: 'Rolled back', active: 1, created_at: now, updated_at: now }).execute();
        expect(await database.dialect.countProducts(tx)).toBe(before[0]! + 1);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    expect(await database.dialect.countProducts(database.db)).toBe(before[0]);
    expect(await totals()).toEqual(before);
  });
});
