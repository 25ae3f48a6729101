import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { catalog, multipartBody, uploadRaw, type JobJson } from '../jobs/job-helpers.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Finding 6 (limits): an upload that stalls is cut off with nothing kept; uploads at once
// are bounded (503 + Retry-After); the kept upload files are bounded in number and bytes
// (the files of the longest-failed imports go first, then 507). Real sockets, real files.

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const files = (test: TestApp) => (fs.existsSync(test.config.uploadDir) ? fs.readdirSync(test.config.uploadDir) : []);
const partFiles = (test: TestApp) => files(test).filter((name) => name.endsWith('.part'));

/** A plain TCP connection to the server, collecting what it answers. */
async function openSocket(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += String(chunk)));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, answer: () => received };
}

/** A raw HTTP/1.1 upload on a socket of its own: the head and the first part of the body now, the rest when asked. */
async function startUpload(baseUrl: string, mode: 'raw' | 'multipart', content: string) {
  const { port } = new URL(baseUrl);
  const { body, contentType } = mode === 'raw' ? { body: Buffer.from(content), contentType: 'text/csv' } : multipartBody('file', 'slow.csv', content);
  const { socket, closed, answer } = await openSocket(Number(port));
  socket.write(`POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
  const half = Math.floor(body.length / 2);
  socket.write(body.subarray(0, half));
  return {
    closed,
    answer,
    sendRest: () => socket.write(body.subarray(half)),
    /** The rest in `pieces`, one every `everyMs`. */
    async trickleRest(pieces: number, everyMs: number) {
      const rest = body.subarray(half);
      const size = Math.ceil(rest.length / pieces);
      for (let start = 0; start < rest.length; start += size) {
        await new Promise((resolve) => setTimeout(resolve, everyMs));
        socket.write(rest.subarray(start, start + size));
      }
    },
    destroy: () => socket.destroy(),
  };
}

describeEachDialect('upload limits (%s)', (dialect) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  it.each(['raw', 'multipart'] as const)('cuts off a %s upload that stalls: connection closed, partial file deleted, its place given back', async (mode) => {
    test = await startTestApp(dialect, { UPLOAD_IDLE_TIMEOUT_MS: '400', MAX_CONCURRENT_UPLOADS: '1' });
    const app = test;
    const baseUrl = await app.app.listen({ port: 0, host: '127.0.0.1' });
    const upload = await startUpload(baseUrl, mode, catalog(2000));
    await waitUntil(() => partFiles(app).length === 1, 'the partial file');
    await upload.closed;
    await waitUntil(() => partFiles(app).length === 0, 'the partial file to be deleted');
    // The one upload place is free again: the next upload is accepted, not refused with 503.
    await waitUntil(async () => (await uploadRaw(app.app, catalog(3))).statusCode === 202, 'an upload to be accepted again');
  });

  it('cuts off a multipart upload that stalls before its file part, and gives its place back', async () => {
    test = await startTestApp(dialect, { UPLOAD_IDLE_TIMEOUT_MS: '400', MAX_CONCURRENT_UPLOADS: '1' });
    const app = test;
    const { port } = new URL(await app.app.listen({ port: 0, host: '127.0.0.1' }));
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const boundary = 'stall-before-the-file';
    socket.write(`POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n--${boundary}\r\n`);
    await closed;
    await waitUntil(async () => (await uploadRaw(app.app, catalog(3))).statusCode === 202, 'an upload to be accepted again');
    expect(partFiles(app)).toEqual([]);
  });

  it('lets a slow upload that keeps moving finish', async () => {
    test = await startTestApp(dialect, { UPLOAD_IDLE_TIMEOUT_MS: '400' });
    const baseUrl = await test.app.listen({ port: 0, host: '127.0.0.1' });
    const upload = await startUpload(baseUrl, 'raw', catalog(2000));
    // About 2 s in all, five times the idle limit, never 400 ms without a byte.
    await upload.trickleRest(20, 100);
    await waitUntil(() => upload.answer().includes('\r\n\r\n'), 'the answer');
    expect(upload.answer()).toMatch(/^HTTP\/1\.1 202 /);
    upload.destroy();
  });

  it('answers 503 with Retry-After past MAX_CONCURRENT_UPLOADS, and takes uploads again once one finished', async () => {
    test = await startTestApp(dialect, { MAX_CONCURRENT_UPLOADS: '1' });
    const app = test;
    const baseUrl = await app.app.listen({ port: 0, host: '127.0.0.1' });
    const first = await startUpload(baseUrl, 'raw', catalog(2000));
    await waitUntil(() => partFiles(app).length === 1, 'the first upload to be under way');
    const refused = await uploadRaw(app.app, catalog(3));
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json().detail).toMatch(/MAX_CONCURRENT_UPLOADS/);
    first.sendRest();
    await waitUntil(() => first.answer().includes('\r\n\r\n'), 'the first answer');
    expect(first.answer()).toMatch(/^HTTP\/1\.1 202 /);
    first.destroy();
    expect((await uploadRaw(app.app, catalog(3))).statusCode).toBe(202);
  });

  it('bounds the kept files: the longest-failed import lets go of its file (no longer retryable), then 507', async () => {
    test = await startTestApp(dialect, { UPLOAD_MAX_KEPT_FILES: '2' });
    const { db } = test.runtime.database;
    const dir = test.config.uploadDir;
    fs.mkdirSync(dir, { recursive: true });
    const insert = async (id: string, status: 'failed' | 'queued', finishedMinutesAgo: number | null) => {
      const file = path.join(dir, `${id}.csv`);
      fs.writeFileSync(file, 'sku,name\nA,B\n');
      const now = new Date().toISOString();
      const finished = finishedMinutesAgo === null ? null : new Date(Date.now() - finishedMinutesAgo * 60_000).toISOString();
      await db
        .insertInto('jobs')
        .values({ id, type: 'import', status, filename: 'a.csv', file_path: file, bytes_total: 13, created_at: now, updated_at: now, finished_at: finished })
        .execute();
      return file;
    };
    const older = await insert('20000000-0000-4000-8000-000000000001', 'failed', 10);
    const newer = await insert('20000000-0000-4000-8000-000000000002', 'failed', 5);
    const accepted = await uploadRaw(test.app, catalog(3));
    expect(accepted.statusCode, accepted.body).toBe(202);
    expect(fs.existsSync(older)).toBe(false);
    expect(fs.existsSync(newer)).toBe(true);
    const gone = await test.app.inject({ method: 'GET', url: '/api/jobs/20000000-0000-4000-8000-000000000001' });
    expect(gone.json()).toMatchObject({ status: 'failed', retryable: false });
    const retry = await test.app.inject({ method: 'POST', url: '/api/jobs/20000000-0000-4000-8000-000000000001/retry' });
    expect(retry.statusCode).toBe(409);
    expect(retry.json().detail).toMatch(/no longer kept/);
    expect((await test.app.inject({ method: 'GET', url: '/api/jobs/20000000-0000-4000-8000-000000000002' })).json()).toMatchObject({ retryable: true });

    // Files of imports waiting to run are never let go: with two of them kept, an upload cannot fit.
    await db.deleteFrom('jobs').where('id', '=', (accepted.json() as JobJson).id).execute();
    await db.updateTable('jobs').set({ status: 'queued', finished_at: null }).where('id', '=', '20000000-0000-4000-8000-000000000002').execute();
    await insert('20000000-0000-4000-8000-000000000003', 'queued', null);
    const before = files(test);
    const refused = await uploadRaw(test.app, catalog(3));
    expect(refused.statusCode).toBe(507);
    expect(refused.json().detail).toMatch(/UPLOAD_MAX_KEPT_FILES/);
    expect(files(test).filter((name) => !before.includes(name))).toEqual([]);
  });

  it('bounds the kept bytes: 507 before reading an upload that says it is too large, and during one that grows too large', async () => {
    test = await startTestApp(dialect, { UPLOAD_MAX_KEPT_BYTES: '4000' });
    const content = catalog(200);
    expect(Buffer.byteLength(content)).toBeGreaterThan(4000);
    const declared = await uploadRaw(test.app, content);
    expect(declared.statusCode).toBe(507);
    expect(declared.json().detail).toMatch(/UPLOAD_MAX_KEPT_BYTES/);
    // Without Content-Length (chunked), the limit stops it as it arrives.
    const baseUrl = await test.app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`${baseUrl}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(content));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(507);
    expect(partFiles(test)).toEqual([]);
    expect(files(test)).toEqual([]);
    expect((await uploadRaw(test.app, catalog(3))).statusCode).toBe(202);
  });
});

describe('HTTP timeouts', () => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  it('closes a connection whose request headers never finish, with 408', async () => {
    test = await startTestApp('sqlite', { HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const { port } = new URL(await test.app.listen({ port: 0, host: '127.0.0.1' }));
    const { socket, closed, answer } = await openSocket(Number(port));
    socket.write('POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n');
    await closed;
    expect(answer()).toMatch(/^HTTP\/1\.1 408 /);
  });
});
