import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { skuKey } from '../../src/products/products.rules.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Streams a GET response, counting bytes and lines without keeping the body. */
function download(url: string, onChunk: () => void): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; lines: number; head: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let bytes = 0;
        let lines = 0;
        let head = '';
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 10) lines += 1;
          if (head.length < 4096) head += chunk.toString('utf8');
          onChunk();
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes, lines, head }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

describeEachDialect('product CSV export on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exports the filtered, sorted list as CSV with formula cells defused and quoting right', async () => {
    const products = [
      { sku: '=HYPERLINK("http://evil")', name: '+cmd', description: '-2+3', price: '1.00' },
      { sku: '@SUM(A1)', name: 'tab\tstart', description: '\tlead tab', price: null },
      { sku: 'PLAIN-1', name: 'Comma, "quoted"', description: 'line one\nline two', price: '10.50' },
    ];
    for (const product of products) {
      expect((await t.app.inject({ method: 'POST', url: '/api/products', payload: product })).statusCode).toBe(201);
    }
    const response = await t.app.inject({ method: 'GET', url: '/api/products/export?sort=id' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/csv');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="products-\d{4}-\d\d-\d\d\.csv"$/);
    const lines = response.body.split('\r\n');
    expect(lines[0]).toBe('id,sku,name,description,price,active,created_at,updated_at');
    expect(lines[1]).toMatch(/^\d+,"'=HYPERLINK\(""http:\/\/evil""\)",'\+cmd,'-2\+3,1\.00,true,/);
    expect(lines[2]).toMatch(/^\d+,'@SUM\(A1\),tab\tstart,'\tlead tab,,true,/);
    expect(response.body).toContain('PLAIN-1,"Comma, ""quoted""","line one\nline two",10.50,true');

    const filtered = await t.app.inject({ method: 'GET', url: '/api/products/export?sku=plain' });
    expect(filtered.body.trim().split('\r\n')).toHaveLength(2);
    const invalid = await t.app.inject({ method: 'GET', url: '/api/products/export?sort=nope' });
    expect(invalid.statusCode).toBe(422);
  });

  it('streams 100,000 products in constant memory', async () => {
    const description = 'd'.repeat(500);
    const now = new Date().toISOString();
    const CHUNK = 1000;
    for (let start = 0; start < 100_000; start += CHUNK) {
      const rows = Array.from({ length: CHUNK }, (_, i) => {
        const sku = `BULK-${start + i}`;
        return { sku, sku_key: skuKey(sku), name: `Bulk ${start + i}`, description, price_cents: 100, active: 1, created_at: now, updated_at: now };
      });
      await t.runtime.database.db.insertInto('products').values(rows).execute();
    }
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;

    expect(global.gc, 'tests run with --expose-gc').toBeTypeOf('function');
    global.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let chunks = 0;
    const result = await download(`http://127.0.0.1:${port}/api/products/export?sku=bulk-`, () => {
      chunks += 1;
      if (chunks % 50 === 0) {
        global.gc?.();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    });
    expect(result.status).toBe(200);
    expect(result.lines).toBe(100_001);
    // The file is over 50 MB; a buffered export would hold all of it (and its rows) at once.
    expect(result.bytes).toBeGreaterThan(50_000_000);
    expect(peak - baseline).toBeLessThan(20 * 1024 * 1024);
  });
});
