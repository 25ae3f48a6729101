import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describeEachDialect('products API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (body: unknown) => t.app.inject({ method: 'POST', url: '/api/products', payload: body as object });
  const list = (query: string) => t.app.inject({ method: 'GET', url: `/api/products?${query}` });

  describe('create and read', () => {
    it('creates a product and returns it with 201', async () => {
      const response = await create({ sku: 'Lay-Raise-Best-End', name: 'Bryce Jones', description: 'Art.', price: '899.99' });
      expect(response.statusCode).toBe(201);
      const product = response.json();
      expect(product).toMatchObject({
        sku: 'Lay-Raise-Best-End',
        name: 'Bryce Jones',
        description: 'Art.',
        price: '899.99',
        active: true,
      });
      expect(product.id).toBeGreaterThan(0);
      expect(product.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const read = await t.app.inject({ method: 'GET', url: `/api/products/${product.id}` });
      expect(read.statusCode).toBe(200);
      expect(read.json()).toEqual(product);
    });

    it('keeps prices exact, accepts numbers, and returns null for unknown prices', async () => {
      const cases: [unknown, string | null][] = [
        ['0.1', '0.10'],
        [19.99, '19.99'],
        ['999999999999.99', '999999999999.99'],
        [null, null],
      ];
      for (const [price, expected] of cases) {
        const response = await create({ sku: `PRICE-${String(expected)}-${Math.random()}`, name: 'p', price });
        expect(response.statusCode, JSON.stringify(price)).toBe(201);
        expect(response.json().price).toBe(expected);
      }
    });

    it('stores SQL-injection-looking and HTML strings verbatim', async () => {
      const nasty = {
        sku: "x'); DROP TABLE products; --",
        name: '<script>alert("x")</script>',
        description: "Robert'); DELETE FROM products WHERE ('1'='1",
      };
      const response = await create(nasty);
      expect(response.statusCode).toBe(201);
      const read = await t.app.inject({ method: 'GET', url: `/api/products/${response.json().id}` });
      expect(read.json()).toMatchObject(nasty);
      expect((await list('page_size=1')).statusCode).toBe(200);
    });

    it('trims the SKU and keeps its casing', async () => {
      const response = await create({ sku: '  Trim-Me-1  ', name: 'trim' });
      expect(response.json().sku).toBe('Trim-Me-1');
    });

    it('answers 404 for an unknown id and 422 for a malformed one', async () => {
      const missing = await t.app.inject({ method: 'GET', url: '/api/products/999999999' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ detail: expect.any(String) });
      const malformed = await t.app.inject({ method: 'GET', url: '/api/products/abc' });
      expect(malformed.statusCode).toBe(422);
      expect(malformed.json().detail[0].loc).toEqual(['path', 'id']);
    });
  });

  describe('SKU uniqueness', () => {
    it('answers 409 for SKUs differing only in case or surrounding spaces', async () => {
      expect((await create({ sku: 'ABC-1', name: 'first' })).statusCode).toBe(201);
      for (const sku of ['abc-1', ' ABC-1', 'Abc-1  ']) {
        const response = await create({ sku, name: 'again' });
        expect(response.statusCode, sku).toBe(409);
        expect(response.json().detail).toContain('already exists');
      }
    });

    it('treats accented SKUs case-insensitively (ÉCOLE-1 vs école-1) and NFC-equivalent forms as one', async () => {
      expect((await create({ sku: 'ÉCOLE-1', name: 'upper' })).statusCode).toBe(201);
      expect((await create({ sku: 'école-1', name: 'lower' })).statusCode).toBe(409);
      // "e" + combining acute accent: the same SKU once NFC-normalised.
      expect((await create({ sku: 'e\u0301cole-1', name: 'decomposed' })).statusCode).toBe(409);
      expect((await create({ sku: 'ECOLE-1', name: 'no accent' })).statusCode).toBe(201);
    });

    it('lets exactly one of many concurrent creates of the same SKU win', async () => {
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) => create({ sku: i % 2 ? 'RACE-1' : 'race-1', name: `racer ${i}` })),
      );
      const codes = responses.map((response) => response.statusCode).sort();
      expect(codes.filter((code) => code === 201)).toHaveLength(1);
      expect(codes.filter((code) => code === 409)).toHaveLength(11);
      expect((await list('sku=race-1')).json().total).toBe(1);
    });

    it('answers 409 when an update would take another product’s SKU, and keeps the latest casing', async () => {
      const a = (await create({ sku: 'UPD-A', name: 'a' })).json();
      const b = (await create({ sku: 'UPD-B', name: 'b' })).json();
      const clash = await t.app.inject({ method: 'PATCH', url: `/api/products/${b.id}`, payload: { sku: 'upd-a' } });
      expect(clash.statusCode).toBe(409);
      const recase = await t.app.inject({ method: 'PATCH', url: `/api/products/${a.id}`, payload: { sku: 'upd-a' } });
      expect(recase.statusCode).toBe(200);
      expect(recase.json().sku).toBe('upd-a');
    });
  });

  describe('validation', () => {
    it('answers 422 with one entry per invalid field', async () => {
      const response = await create({ sku: '', name: '   ', price: '-1', active: 'yes', description: 'x'.repeat(10_001), colour: 'red' });
      expect(response.statusCode).toBe(422);
      const locs = response.json().detail.map((issue: { loc: string[] }) => issue.loc.join('.'));
      for (const field of ['sku', 'name', 'price', 'active', 'description', 'colour']) {
        expect(locs, field).toContain(`body.${field}`);
      }
      for (const issue of response.json().detail) {
        expect(issue).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
      }
    });

    it('reports missing required fields', async () => {
      const response = await create({});
      expect(response.statusCode).toBe(422);
      const locs = response.json().detail.map((issue: { loc: string[] }) => issue.loc.join('.'));
      expect(locs).toEqual(expect.arrayContaining(['body.sku', 'body.name']));
    });

    it.each([
      ['a SKU of 256 characters', { sku: 'x'.repeat(256) }],
      ['a SKU with a control character', { sku: 'AB\u0007C' }],
      ['a SKU with a tab inside', { sku: 'AB\tC' }],
      ['a name of 1025 characters', { name: 'n'.repeat(1025) }],
      ['a price with 3 decimals', { price: '1.999' }],
      ['a negative number price', { price: -5 }],
      ['a price in exponent form', { price: '1e3' }],
      ['a price with 3 decimals as number', { price: 1.005 }],
      ['a string for active', { active: 'true' }],
    ])('rejects %s', async (_label, override) => {
      const response = await create({ sku: 'VALID-1', name: 'valid', ...override });
      expect(response.statusCode).toBe(422);
      expect(response.json().detail.length).toBeGreaterThan(0);
    });

    it('accepts a 255-character SKU surrounded by spaces', async () => {
      const response = await create({ sku: `  ${'s'.repeat(255)}  `, name: 'long' });
      expect(response.statusCode).toBe(201);
      expect(response.json().sku).toHaveLength(255);
    });

    it('answers 400 for malformed JSON, 415 for other media types, 413 for bodies over 1 MiB', async () => {
      const malformed = await t.app.inject({
        method: 'POST',
        url: '/api/products',
        headers: { 'content-type': 'application/json' },
        payload: '{"sku": ',
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().detail).toEqual(expect.any(String));
      const xml = await t.app.inject({
        method: 'POST',
        url: '/api/products',
        headers: { 'content-type': 'application/xml' },
        payload: '<product/>',
      });
      expect(xml.statusCode).toBe(415);
      const huge = await t.app.inject({
        method: 'POST',
        url: '/api/products',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ sku: 'HUGE', name: 'x', description: 'd'.repeat(1_100_000) }),
      });
      expect(huge.statusCode).toBe(413);
    });
  });

  describe('update and delete', () => {
    it('updates only the fields given, with PUT and PATCH alike', async () => {
      const product = (await create({ sku: 'PART-1', name: 'before', description: 'keep me', price: '5.00' })).json();
      for (const method of ['PUT', 'PATCH'] as const) {
        const response = await t.app.inject({ method, url: `/api/products/${product.id}`, payload: { name: `after ${method}` } });
        expect(response.statusCode).toBe(200);
        expect(response.json()).toMatchObject({ name: `after ${method}`, description: 'keep me', price: '5.00', sku: 'PART-1' });
      }
      const cleared = await t.app.inject({ method: 'PATCH', url: `/api/products/${product.id}`, payload: { price: null, description: null } });
      expect(cleared.json()).toMatchObject({ price: null, description: null });
      expect(Date.parse(cleared.json().updated_at)).toBeGreaterThanOrEqual(Date.parse(product.updated_at));
    });

    it('accepts a product echoed back from GET (read-only fields ignored)', async () => {
      const product = (await create({ sku: 'ECHO-1', name: 'echo' })).json();
      const response = await t.app.inject({ method: 'PUT', url: `/api/products/${product.id}`, payload: { ...product, id: 42, name: 'echoed' } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: product.id, name: 'echoed' });
    });

    it('answers 404 when updating or deleting a missing product', async () => {
      expect((await t.app.inject({ method: 'PATCH', url: '/api/products/987654321', payload: { name: 'x' } })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: '/api/products/987654321' })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: '/api/products/987654321?soft=true' })).statusCode).toBe(404);
    });

    it('deletes with 204, or with soft=true marks inactive and answers 200', async () => {
      const soft = (await create({ sku: 'SOFT-1', name: 'soft' })).json();
      const softResponse = await t.app.inject({ method: 'DELETE', url: `/api/products/${soft.id}?soft=true` });
      expect(softResponse.statusCode).toBe(200);
      expect(softResponse.json()).toMatchObject({ id: soft.id, active: false });

      const hard = (await create({ sku: 'HARD-1', name: 'hard' })).json();
      const hardResponse = await t.app.inject({ method: 'DELETE', url: `/api/products/${hard.id}` });
      expect(hardResponse.statusCode).toBe(204);
      expect(hardResponse.body).toBe('');
      expect((await t.app.inject({ method: 'GET', url: `/api/products/${hard.id}` })).statusCode).toBe(404);
    });

    it('deletes the selected products and counts only those that existed', async () => {
      const ids = [];
      for (let i = 0; i < 3; i += 1) ids.push((await create({ sku: `SEL-${i}`, name: 'sel' })).json().id);
      const response = await t.app.inject({ method: 'POST', url: '/api/products/delete', payload: { ids: [...ids, ids[0], 999_999_999] } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ deleted: 3 });
      expect((await list('sku=SEL-')).json().total).toBe(0);
      expect((await t.app.inject({ method: 'POST', url: '/api/products/delete', payload: { ids: [] } })).statusCode).toBe(422);
      expect((await t.app.inject({ method: 'POST', url: '/api/products/delete', payload: {} })).statusCode).toBe(422);
    });

    it('writes product events to the outbox in the same transaction as the change', async () => {
      const before = await t.runtime.database.db.selectFrom('outbox_events').select('id').execute();
      const product = (await create({ sku: 'EVT-1', name: 'event' })).json();
      await t.app.inject({ method: 'PATCH', url: `/api/products/${product.id}`, payload: { name: 'event 2' } });
      await create({ sku: 'evt-1', name: 'clash rolls back' });
      await t.app.inject({ method: 'DELETE', url: `/api/products/${product.id}` });
      const events = await t.runtime.database.db
        .selectFrom('outbox_events')
        .selectAll()
        .where('id', 'not in', before.length ? before.map((event) => event.id) : ['none'])
        .orderBy('seq')
        .execute();
      expect(events.map((event) => event.type)).toEqual(['product.created', 'product.updated', 'product.deleted']);
      expect(JSON.parse(events[1]!.data)).toMatchObject({ id: product.id, name: 'event 2' });
      expect(events[0]!.id).toMatch(/^evt_/);
    });
  });
});
