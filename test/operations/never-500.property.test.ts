import type { FastifyInstance, InjectOptions } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { RouteEntry } from '../../src/shared/error-handling.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { webDistDir } from '../../scripts/build-web.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createTestStore, testConfig, type Dialect, type TestStore } from '../support/test-app.js';

// The property: whatever the request (path, method, headers, query, body), the answer is below
// 500, an error is `{"detail": …}` JSON, and the server stays healthy. `npm test` runs a fixed
// seed and a bounded count; `npm run fuzz:http` runs more (FUZZ_HTTP_RUNS, FUZZ_HTTP_SEED).

const fuzzing = process.env.FUZZ_HTTP_RUNS !== undefined;
const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 800);
const SEED = Number(process.env.FUZZ_HTTP_SEED ?? (fuzzing ? Date.now() % 2 ** 31 : 20261130));
const TOKEN = 'fuzz-token';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** Strings that have broken servers: NUL, lone surrogates, huge numbers, encodings, traversal. */
const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\uffff',
  '\u202e',
  '9'.repeat(400),
  '-1',
  '0',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  '1.005',
  '%',
  '%00',
  '%zz',
  '%ff%fe',
  '%c0%ae%c0%ae/',
  '..',
  '../../etc/passwd',
  '..%2f..%2f',
  '%2e%2e%2f',
  '%252e',
  '/',
  '\\',
  '"',
  "'; drop table products; --",
  '<script>alert(1)</script>',
  '=cmd|',
  'true',
  'null',
  '[]',
  '{}',
  'ä'.repeat(300),
  '😀',
  '00000000-0000-4000-8000-000000000000',
  '2147483648',
  '9007199254740993',
];

const FIELDS_FOR_NESTING = ['sku', 'name', 'price', 'events', 'ids', 'token'];

const nastyString = fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));

const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON text nested `depth` deep (a recursive parser, validator or serializer must not blow its stack). */
const deeplyNestedJson = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom(...FIELDS_FOR_NESTING)).map(([depth, key]) =>
  `{"${key}":${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}}`,
);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Other body fields (the free-text ones come from `jsonBodies`' `text`). */
const FIELDS = [
  'price', 'active', 'id', 'created_at', 'url', 'events', 'event_type', 'enabled', 'secret',
  'token', 'ids', 'confirm', 'products', 'status', 'type', 'filename', '__proto__', 'constructor',
];

/** Usually a valid value (so the request gets past validation to the code behind), sometimes a nasty one. */
function mostly<T, U>(valid: fc.Arbitrary<T>, nasty: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: nasty });
}

/**
 * Bodies shaped like the routes' own, so most reach the service and the database, with nasty
 * field values; `text` is the arbitrary for the free-text fields (sku, name, description).
 */
function jsonBodies(url: string, text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const productLike = fc.record(
    {
      sku: mostly(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), text),
      name: mostly(fc.string({ minLength: 1, maxLength: 20 }), text),
      description: text,
      price: mostly(fc.constantFrom('10.00', 5, '0.5', null), fc.oneof(nastyNumber, nastyString)),
      active: mostly(fc.boolean(), nastyValue),
    },
    { requiredKeys: ['sku', 'name'] },
  );
  const webhookLike = fc.record(
    {
      url: fc.oneof(fc.constantFrom('https://hooks.example/x', 'http://127.0.0.1/x', 'http://[::1]/', 'http://user:pass@hooks.example/'), nastyString),
      events: fc.oneof(fc.constant(['product.created']), fc.array(nastyString, { maxLength: 3 }), nastyValue),
      event_type: nastyValue,
      description: text,
      enabled: nastyValue,
    },
    { requiredKeys: [] },
  );
  const deletion = fc.record({ ids: fc.oneof(fc.array(nastyValue, { maxLength: 4 }), nastyValue), confirm: nastyValue }, { requiredKeys: [] });
  const anything = fc.oneof(
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), nastyValue, { maxKeys: 6 }),
    nastyValue,
    productLike,
    webhookLike,
  );
  // The body this route takes, most of the time; any other shape now and then.
  const own: fc.Arbitrary<unknown> = url.startsWith('/api/products/bulk-delete') || url.startsWith('/api/products/delete')
    ? deletion
    : url.startsWith('/api/products/bulk')
      ? fc.oneof(fc.array(productLike, { maxLength: 4 }), fc.record({ products: fc.array(productLike, { maxLength: 4 }) }))
      : url.startsWith('/api/products')
        ? productLike
        : url.startsWith('/api/webhooks')
          ? webhookLike
          : url.startsWith('/api/session')
            ? fc.record({ token: mostly(fc.constant(TOKEN), nastyValue) })
            : anything;
  const shaped = fc.oneof({ weight: 4, arbitrary: own }, { weight: 1, arbitrary: anything });
  return fc.oneof({ weight: 8, arbitrary: shaped.map((value) => JSON.stringify(value)) }, { weight: 1, arbitrary: deeplyNestedJson });
}

const rawBody = fc.oneof(
  fc.constantFrom('{', '{"sku":', '\u0000', '\ufeff{}', 'sku,name\nA,B\n', '--x\r\n', '[1,2', '{"a":1}{"b":2}', 'null', '"\\ud800"', '{"__proto__":{"x":1}}'),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** CSV-ish text: a header that may or may not name sku and name, then rows of nasty cells. */
const csvText = fc
  .tuple(fc.constantFrom('sku,name', 'sku,name,price,active', 'name', '', '"sku","na""me"', 'sku,name\r'), fc.array(fc.array(nastyString, { maxLength: 4 }), { maxLength: 5 }))
  .map(([header, rows]) => [header, ...rows.map((cells) => cells.join(','))].join('\n'));

/** A multipart body with boundary `x`: a file part with a nasty name, sometimes cut off or with an extra part. */
const multipartText = fc
  .record({ field: fc.constantFrom('file', 'file', 'other', ''), filename: nastyString, content: csvText, extra: fc.boolean(), cut: fc.option(fc.nat(300), { freq: 3 }) })
  .map(({ field, filename, content, extra, cut }) => {
    const part = (name: string) => `--x\r\nContent-Disposition: form-data; name="${field}"; filename="${name.replace(/[\r\n"]/g, '')}"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n`;
    const body = `${part(filename)}${extra ? part('second.csv') : ''}--x--\r\n`;
    return cut === null ? body : body.slice(0, cut);
  });

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/JSON',
  'text/plain',
  'text/csv',
  'application/gzip',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  ';;;',
  '',
];

const QUERY_KEYS = ['q', 'search', 'sku', 'name', 'description', 'active', 'sort', 'order', 'page', 'page_size', 'limit', 'offset', 'status', 'type', 'filename', 'format', 'cursor', 'event_type'];

/** Percent-encoded text (lone surrogates cannot be encoded; their UTF-8 bytes are in the raw list). */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/gu, '\ufffd'));
}

/** A query-string value, either properly encoded or with raw (possibly broken) percent escapes. */
function queryPart(): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...QUERY_KEYS, 'x', '%00', 'a[b]', '__proto__'), nastyValue, fc.boolean()).map(([key, value, encoded]) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value)?.slice(0, 200) ?? '';
    return encoded ? `${encode(key)}=${encode(text)}` : `${key}=${text.replace(/[#\s]/g, '')}`;
  });
}

function fillPattern(pattern: string, values: string[]): string {
  let index = 0;
  return pattern.replace(/:[A-Za-z_]+|\*/g, () => values[index++ % values.length] ?? '1');
}

/** A path segment value: a plausible id, or something nasty, encoded or with raw percent escapes. */
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('1', '2', '3', '999999', '00000000-0000-4000-8000-000000000000') },
  nastyString.map(encode),
  fc.constantFrom('%ed%a0%80', '%00', '%2e%2e', '%2f', '%ff', '%', '%zz', '..', '.', ';x=1', '%20'),
);

const identity = (path: string) => path;
const pathMutation = fc.constantFrom<(path: string) => string>(
  ...Array<(path: string) => string>(20).fill(identity),
  (path) => `${path}/`,
  (path) => path.toUpperCase(),
  (path) => `/${path}`,
  (path) => path.replace('/api/', '/%61pi/'),
  (path) => `${path}/..`,
  (path) => `${path};a=b`,
  (path) => `${path}%00`,
);

interface FuzzRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

function requestArbitrary(routes: readonly RouteEntry[]): fc.Arbitrary<FuzzRequest> {
  const text = nastyString;
  // The API's own routes (where the data is) far more often than the docs' assets and HEAD twins.
  const weighted = routes.map((route) => ({ weight: route.url.startsWith('/api/') && route.method !== 'HEAD' ? 8 : 1, arbitrary: fc.constant(route) }));
  return fc.oneof(...weighted).chain((route) =>
    fc
      .record({
        route: fc.constant(route),
        upload: route.url === '/api/upload'
          ? fc.oneof(
            { weight: 3, arbitrary: multipartText.map((body) => ({ body, contentType: 'multipart/form-data; boundary=x' })) },
            { weight: 2, arbitrary: csvText.map((body) => ({ body, contentType: 'text/csv' })) },
            fc.constant(null),
          )
          : fc.constant(null),
        otherMethod: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, fc.constantFrom(...METHODS)),
        segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
        mutate: pathMutation,
        query: fc.array(queryPart(), { maxLength: 4 }),
        body: fc.oneof(
          { weight: 6, arbitrary: jsonBodies(route.url, text) },
          { weight: 1, arbitrary: rawBody },
          { weight: ['GET', 'HEAD', 'DELETE'].includes(route.method) ? 8 : 1, arbitrary: fc.constant(null) },
        ),
        contentType: fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, fc.constantFrom(...CONTENT_TYPES)),
        authorization: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(`Bearer ${TOKEN}`, `bearer ${TOKEN}`) }, fc.constantFrom('Bearer nope', '')),
        origin: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(undefined, 'http://localhost') }, fc.constantFrom('https://evil.example', 'null', '%%%')),
        extraHeader: fc.option(fc.tuple(fc.constantFrom('accept', 'accept-encoding', 'cookie', 'x-request-id', 'sec-fetch-site', 'if-none-match', 'range'), nastyString), { freq: 3 }),
      })
      .map(({ route, upload, otherMethod, segments, mutate, query, contentType, authorization, origin, extraHeader, ...rest }) => {
        const body = upload?.body ?? rest.body;
        if (upload) contentType = upload.contentType;
        const headers: Record<string, string> = {};
        if (authorization) headers.authorization = authorization;
        if (origin) headers.origin = origin;
        if (body !== null) headers['content-type'] = contentType;
        // Header values cannot carry control characters or non-Latin-1 text: the client would refuse to send them.
        if (extraHeader) headers[extraHeader[0]] = extraHeader[1].replace(/[^\u0020-\u007e]/g, '');
        const path = mutate(fillPattern(route.url, segments));
        return {
          method: (otherMethod ?? route.method) as Method,
          url: query.length > 0 ? `${path}?${query.join('&')}` : path,
          headers,
          ...(body !== null ? { payload: body } : {}),
        };
      }),
  );
}

async function send(app: FastifyInstance, request: FuzzRequest) {
  const response = await app.inject({ ...request, payloadAsStream: true } as InjectOptions & { payloadAsStream: true });
  const contentType = String(response.headers['content-type'] ?? '');
  // An event stream of a live job does not end by itself; its status line is what counts.
  if (contentType.startsWith('text/event-stream')) {
    response.stream().destroy();
    return { status: response.statusCode, contentType, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of response.stream()) chunks.push(chunk as Buffer);
  return { status: response.statusCode, contentType, body: Buffer.concat(chunks).toString('utf8') };
}

describeEachDialect('never a 500, whatever the request (%s)', (dialect: Dialect) => {
  let store: TestStore;
  let runtime: Runtime;
  let app: FastifyInstance;
  beforeAll(async () => {
    store = await createTestStore(dialect);
    const config = testConfig(store, { API_TOKEN: TOKEN, MAX_UPLOAD_BYTES: '65536' });
    // Webhook hosts never resolve: the guard refuses them without waiting for DNS.
    const resolveHost = async () => {
      throw Object.assign(new Error('not resolvable in this test'), { code: 'ENOTFOUND' });
    };
    runtime = await openRuntime(config, undefined, { resolveHost, runWebhookDispatcher: false });
    // The web UI's built files too (vitest's global setup builds them), so its routes are fuzzed as served.
    app = await buildApp({ ...runtime, resolveHost, webDistDir });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await store?.drop();
  });

  it(`answers below 500 with {"detail": …} errors (${RUNS} runs, seed ${SEED})`, async () => {
    const routes = app.routeTable;
    expect(routes.length).toBeGreaterThan(30);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(routes), async (request) => {
        const response = await send(app, request);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${request.method} ${request.url}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
        if (response.status >= 400 && request.method !== 'HEAD') {
          expect(response.contentType, `${request.method} ${request.url}`).toMatch(/^application\/json/);
          const body = JSON.parse(response.body) as { detail?: unknown };
          expect(typeof body.detail === 'string' || Array.isArray(body.detail), response.body.slice(0, 300)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.info(`${dialect}: statuses of ${RUNS} generated requests`, Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode, ready.body).toBe(200);
  }, Math.max(60_000, RUNS * 200));
});
