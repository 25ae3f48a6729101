import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { multipartBody } from '../jobs/job-helpers.js';

// Text that PostgreSQL cannot store (NUL) or that is not Unicode (an unpaired UTF-16 surrogate)
// is refused by the schema, the same on both databases: a 422 naming the field, never a 500.

/** A JSON body with `value` in it; JSON.stringify writes an unpaired surrogate as its \ud800 escape. */
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describeEachDialect('NUL and unpaired surrogates in API input (%s)', (dialect) => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp(dialect);
  });
  afterAll(async () => {
    await test?.close();
  });

  const expect422 = (response: { statusCode: number; body: string; json(): unknown }, loc: (string | number)[]) => {
    expect(response.statusCode, response.body).toBe(422);
    const detail = (response.json() as { detail: Array<{ loc: unknown[]; msg: string; type: string }> }).detail;
    expect(detail).toContainEqual(expect.objectContaining({ loc, type: 'string_not_text', msg: expect.stringMatching(/NUL/) }));
  };

  it('refuses them in every string field of a product body, on create and update', async () => {
    for (const bad of ['A\u0000B', 'A\ud800B', '\udfff']) {
      expect422(await test.app.inject({ method: 'POST', url: '/api/products', ...json({ sku: bad, name: 'n' }) }), ['body', 'sku']);
      expect422(await test.app.inject({ method: 'POST', url: '/api/products', ...json({ sku: 'S-1', name: bad }) }), ['body', 'name']);
      expect422(
        await test.app.inject({ method: 'POST', url: '/api/products', ...json({ sku: 'S-1', name: 'n', description: bad }) }),
        ['body', 'description'],
      );
      expect422(await test.app.inject({ method: 'POST', url: '/api/products', ...json({ sku: 'S-1', name: 'n', price: `1${bad}` }) }), ['body', 'price']);
    }
    const created = await test.app.inject({ method: 'POST', url: '/api/products', ...json({ sku: 'TEXT-1', name: 'Fine 😀' }) });
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: number }).id;
    for (const method of ['PUT', 'PATCH'] as const) {
      expect422(await test.app.inject({ method, url: `/api/products/${id}`, ...json({ name: 'x\u0000' }) }), ['body', 'name']);
      expect422(await test.app.inject({ method, url: `/api/products/${id}`, ...json({ description: '\ud83d' }) }), ['body', 'description']);
    }
    // A paired surrogate is an ordinary character.
    const product = await test.app.inject({ method: 'GET', url: `/api/products/${id}` });
    expect(product.json()).toMatchObject({ name: 'Fine 😀' });
  });

  it('refuses them in query parameters of the list and the export, in the {"detail"} format', async () => {
    for (const parameter of ['q', 'search', 'sku', 'name', 'description']) {
      for (const path of ['/api/products', '/api/products/export']) {
        const response = await test.app.inject({ method: 'GET', url: `${path}?${parameter}=a%00b` });
        expect422(response, ['query', parameter]);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
      }
    }
  });

  it('answers percent-encodings that are not UTF-8 without a 500', async () => {
    for (const encoded of ['%ED%A0%80', '%FF', '%C3', '%E2%82']) {
      const response = await test.app.inject({ method: 'GET', url: `/api/products?q=${encoded}` });
      expect([200, 400, 422], `${encoded}: ${response.body}`).toContain(response.statusCode);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('refuses them in webhook bodies', async () => {
    const url = 'http://93.184.215.14/hook';
    expect422(await test.app.inject({ method: 'POST', url: '/api/webhooks', ...json({ url: `${url}\u0000`, events: ['product.created'] }) }), [
      'body',
      'url',
    ]);
    expect422(
      await test.app.inject({ method: 'POST', url: '/api/webhooks', ...json({ url, events: ['product.created'], description: 'd\u0000' }) }),
      ['body', 'description'],
    );
    const created = await test.app.inject({ method: 'POST', url: '/api/webhooks', ...json({ url, events: ['product.created'] }) });
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: number }).id;
    expect422(await test.app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, ...json({ description: '\ud800' }) }), ['body', 'description']);
  });

  it('refuses a multipart file name holding NUL or other control characters, naming the field', async () => {
    const { body, contentType } = multipartBody('file', 'cat\u0000alog\u0007.csv', 'sku,name\nNUL-NAME-1,x\n');
    const response = await test.app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': contentType }, payload: body });
    expect(response.statusCode, response.body).toBe(422);
    expect((response.json() as { detail: Array<{ loc: unknown[] }> }).detail).toContainEqual(expect.objectContaining({ loc: ['body', 'file', 'filename'] }));
  });
});

describe('the OpenAPI document', () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp('sqlite');
  });
  afterAll(async () => {
    await test?.close();
  });

  it('says of every free-text string a client sends that NUL and unpaired surrogates are refused', async () => {
    const document = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; schema: unknown }>; requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    const missing: string[] = [];
    let checked = 0;
    const visit = (schema: unknown, where: string) => {
      if (schema === null || typeof schema !== 'object') return;
      const node = schema as Record<string, unknown>;
      const isFreeText = node.type === 'string' && node.enum === undefined && node.const === undefined && node.format === undefined;
      if (isFreeText) {
        checked++;
        const not = node.not as { pattern?: string } | undefined;
        if (not?.pattern !== '[\\u0000\\uD800-\\uDFFF]') missing.push(where);
      }
      for (const [key, value] of Object.entries(node)) if (key !== 'not') visit(value, `${where}.${key}`);
    };
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) visit(parameter.schema, `${method} ${path} ${parameter.name}`);
        for (const [type, content] of Object.entries(operation.requestBody?.content ?? {})) visit(content.schema, `${method} ${path} ${type}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
