import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitUntil } from '../webhooks/webhook-support.js';

const CSV = 'sku,name\nA-1,Apple\n';

function filePart(boundary: string, filename = 'a.csv', field = 'file'): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n${CSV}\r\n`;
}

describeEachDialect('malformed multipart uploads (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  const uploads = () => (fs.existsSync(t.config.uploadDir) ? fs.readdirSync(t.config.uploadDir) : []);
  const jobCount = async () => ((await t.app.inject('/api/jobs')).json() as unknown[]).length;
  const post = (contentType: string, payload: string) =>
    t.app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': contentType }, payload });

  it.each([
    ['no boundary', 'multipart/form-data', `${filePart('XX')}--XX--\r\n`],
    ['an empty boundary', 'multipart/form-data; boundary=', `${filePart('XX')}--XX--\r\n`],
    ['a boundary the body does not use', 'multipart/form-data; boundary=YY', `${filePart('XX')}--XX--\r\n`],
    ['a body cut off inside the file', 'multipart/form-data; boundary=XX', filePart('XX').slice(0, -6)],
    ['a body cut off inside the part headers', 'multipart/form-data; boundary=XX', '--XX\r\nContent-Dispo'],
    ['no closing boundary', 'multipart/form-data; boundary=XX', filePart('XX')],
  ])('answers 400 with a message for %s, keeping nothing', async (_what, contentType, payload) => {
    const jobsBefore = await jobCount();
    const response = await post(contentType, payload);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().detail).toMatch(/multipart|read to its end/i);
    expect(uploads()).toEqual([]);
    expect(await jobCount()).toBe(jobsBefore);
  });

  it('answers 422 naming the field when there is no file part', async () => {
    const response = await post('multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="x"\r\n\r\nhello\r\n--XX--\r\n');
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0].loc).toEqual(['body', 'file']);
  });

  it.each([
    ['NUL', 'a\u0000b.csv'],
    ['an escape sequence', 'a\u001b[31mb.csv'],
    ['a tab', 'a\tb.csv'],
    ['DEL', 'a\u007fb.csv'],
  ])('refuses a multipart file name with %s like ?filename= (422), keeping nothing', async (_what, filename) => {
    const response = await post('multipart/form-data; boundary=XX', `${filePart('XX', filename)}--XX--\r\n`);
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json().detail[0].loc).toEqual(['body', 'file', 'filename']);
    expect(uploads()).toEqual([]);
    const raw = await t.app.inject({ method: 'POST', url: `/api/upload?filename=${encodeURIComponent(filename)}`, headers: { 'content-type': 'text/csv' }, payload: CSV });
    expect(raw.statusCode).toBe(422);
  });

  it('removes the partial file when the client goes away in the middle of a multipart file', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as net.AddressInfo;
    const head = `--XX\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n${CSV}`;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 1000000\r\n\r\n${head}`);
    socket.write('x,y\n'.repeat(5000));
    await waitUntil(() => uploads().some((name) => name.endsWith('.part')), 10_000, () => 'the partial file to appear');
    socket.destroy();
    await waitUntil(() => uploads().length === 0, 10_000, () => `no upload left, found ${uploads().join(', ')}`);
  });
});
