import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface Listed {
  items: { id: number; sku: string; name: string; price: string | null; active: boolean }[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}

const CATALOG = [
  { sku: 'CHAIR-RED', name: 'Red chair', description: 'A comfortable wooden chair', price: '49.90', active: true },
  { sku: 'chair-blue', name: 'Blue chair', description: 'Plastic, stackable', price: '19.00', active: false },
  { sku: 'TABLE-OAK', name: 'Oak table', description: 'Solid oak, seats six', price: '299.00', active: true },
  { sku: 'LAMP-1', name: 'Desk lamp', description: null, price: null, active: true },
  { sku: 'PCT-100%', name: 'Discount_item', description: '100% cotton', price: '5.00', active: true },
  { sku: 'CAFÉ-MUG', name: 'Café mug', description: 'Ceramic', price: '7.50', active: false },
];

describeEachDialect('product list on %s', (dialect) => {
  let t: TestApp;
  const list = async (query: string): Promise<Listed> => {
    const response = await t.app.inject({ method: 'GET', url: `/api/products?${query}` });
    expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
    return response.json();
  };
  const skus = (page: Listed) => page.items.map((item) => item.sku);

  beforeAll(async () => {
    t = await startTestApp(dialect);
    for (const product of CATALOG) {
      const response = await t.app.inject({ method: 'POST', url: '/api/products', payload: product });
      expect(response.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists everything by id with the default page', async () => {
    const page = await list('');
    expect(skus(page)).toEqual(CATALOG.map((product) => product.sku));
    expect(page).toMatchObject({ total: 6, page: 1, page_size: 20, pages: 1 });
  });

  it('paginates, and answers an empty page past the end', async () => {
    const second = await list('page=2&page_size=4');
    expect(skus(second)).toEqual(['PCT-100%', 'CAFÉ-MUG']);
    expect(second).toMatchObject({ total: 6, page: 2, page_size: 4, pages: 2 });
    const beyond = await list('page=9&page_size=4');
    expect(beyond.items).toEqual([]);
    expect(beyond.total).toBe(6);
  });

  it('searches sku, name and description case-insensitively with q and its alias search', async () => {
    expect(skus(await list('q=CHAIR'))).toEqual(['CHAIR-RED', 'chair-blue']);
    expect(skus(await list('search=oak'))).toEqual(['TABLE-OAK']);
    expect(skus(await list('q=wooden'))).toEqual(['CHAIR-RED']);
    expect((await list('q=chair')).total).toBe(2);
  });

  it('matches % and _ in search text literally', async () => {
    expect(skus(await list(`q=${encodeURIComponent('100%')}`))).toEqual(['PCT-100%']);
    expect(skus(await list('name=t_i'))).toEqual(['PCT-100%']);
    expect((await list('q=%25%25')).total).toBe(0);
  });

  it('filters by sku prefix (case-insensitive), name, description and active', async () => {
    expect(skus(await list('sku=chair'))).toEqual(['CHAIR-RED', 'chair-blue']);
    expect(skus(await list('sku=CHAIR-B'))).toEqual(['chair-blue']);
    expect(skus(await list('sku=red'))).toEqual([]);
    expect(skus(await list(`sku=${encodeURIComponent('café')}`))).toEqual(['CAFÉ-MUG']);
    expect(skus(await list('name=chair'))).toEqual(['CHAIR-RED', 'chair-blue']);
    expect(skus(await list('description=stackable'))).toEqual(['chair-blue']);
    expect(skus(await list('active=false'))).toEqual(['chair-blue', 'CAFÉ-MUG']);
    expect((await list('active=true')).total).toBe(4);
  });

  it('combines filters', async () => {
    expect(skus(await list('q=chair&active=true'))).toEqual(['CHAIR-RED']);
    expect(skus(await list('sku=chair&name=blue&active=false'))).toEqual(['chair-blue']);
  });

  it('sorts by every field in both directions, ties broken by id', async () => {
    expect(skus(await list('sort=sku'))).toEqual(['CAFÉ-MUG', 'chair-blue', 'CHAIR-RED', 'LAMP-1', 'PCT-100%', 'TABLE-OAK']);
    expect(skus(await list('sort=name&order=desc'))).toEqual(['Red chair', 'Oak table', 'Discount_item', 'Desk lamp', 'Café mug', 'Blue chair'].map(
      (name) => CATALOG.find((product) => product.name === name)!.sku,
    ));
    // Unknown prices sort last in both directions.
    expect(skus(await list('sort=price'))).toEqual(['PCT-100%', 'CAFÉ-MUG', 'chair-blue', 'CHAIR-RED', 'TABLE-OAK', 'LAMP-1']);
    expect(skus(await list('sort=price&order=desc'))).toEqual(['TABLE-OAK', 'CHAIR-RED', 'chair-blue', 'CAFÉ-MUG', 'PCT-100%', 'LAMP-1']);
    expect(skus(await list('sort=id&order=desc'))).toEqual(CATALOG.map((product) => product.sku).reverse());
    expect(skus(await list('sort=created_at'))).toEqual(CATALOG.map((product) => product.sku));
    expect((await list('sort=updated_at&order=desc')).items).toHaveLength(6);
  });

  it('pages through a price sort past the last known price, in both directions', async () => {
    // Known prices are read alone, unknown ones only when a page reaches them (products.repository.ts).
    const wholeLists = {
      asc: ['PCT-100%', 'CAFÉ-MUG', 'chair-blue', 'CHAIR-RED', 'TABLE-OAK', 'LAMP-1'],
      desc: ['TABLE-OAK', 'CHAIR-RED', 'chair-blue', 'CAFÉ-MUG', 'PCT-100%', 'LAMP-1'],
    };
    for (const [order, whole] of Object.entries(wholeLists)) {
      for (const pageSize of [1, 2, 4]) {
        const paged: string[] = [];
        for (let page = 1; page <= Math.ceil(whole.length / pageSize); page++) {
          paged.push(...skus(await list(`sort=price&order=${order}&page_size=${pageSize}&page=${page}`)));
        }
        expect(paged, `${order}, ${pageSize} a page`).toEqual(whole);
      }
    }
  });

  it.each([
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=abc', 'page'],
    ['page_size=0', 'page_size'],
    ['page_size=101', 'page_size'],
    ['sort=colour', 'sort'],
    ['order=sideways', 'order'],
    ['active=maybe', 'active'],
    [`q=${'x'.repeat(256)}`, 'q'],
  ])('answers 422 for %s', async (query, field) => {
    const response = await t.app.inject({ method: 'GET', url: `/api/products?${query}` });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail.map((issue: { loc: string[] }) => issue.loc)).toContainEqual(['query', field]);
  });

  it('accepts page_size at its bounds', async () => {
    expect((await list('page_size=1')).items).toHaveLength(1);
    expect((await list('page_size=100')).page_size).toBe(100);
  });
});
