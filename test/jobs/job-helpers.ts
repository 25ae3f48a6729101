import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

// Helpers for the job, upload and progress suites: real HTTP, real files.

export type Cells = (string | number | null)[];

/** CSV text from rows (cells quoted when needed). */
export function csvText(rows: Cells[], eol = '\n'): string {
  return rows
    .map((row) => row.map((cell) => (cell === null ? '' : /[",\r\n]/.test(String(cell)) ? `"${String(cell).replaceAll('"', '""')}"` : String(cell))).join(','))
    .join(eol)
    .concat(eol);
}

/** A catalog of `count` valid rows (sku, name, description, price, active). */
export function catalog(count: number, options: { skuPrefix?: string; nameSuffix?: string } = {}): string {
  const rows: Cells[] = [['sku', 'name', 'description', 'price', 'active']];
  for (let index = 0; index < count; index++) {
    rows.push([`${options.skuPrefix ?? 'SKU'}-${index}`, `Product ${index}${options.nameSuffix ?? ''}`, `Description, "quoted" ${index}`, `${index % 1000}.${String(index % 100).padStart(2, '0')}`, index % 7 === 0 ? 'false' : 'true']);
  }
  return csvText(rows);
}

export function multipartBody(field: string, filename: string, content: Buffer | string, contentType = 'text/csv') {
  const boundary = `----product-importer-test-${Math.random().toString(16).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), Buffer.from(content), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function uploadRaw(app: FastifyInstance, content: Buffer | string, options: { contentType?: string; filename?: string } = {}) {
  const query = options.filename ? `?filename=${encodeURIComponent(options.filename)}` : '';
  return app.inject({
    method: 'POST',
    url: `/api/upload${query}`,
    headers: { 'content-type': options.contentType ?? 'text/csv' },
    payload: content,
  });
}

export async function uploadMultipart(app: FastifyInstance, content: Buffer | string, filename = 'products.csv', field = 'file') {
  const { body, contentType } = multipartBody(field, filename, content);
  return app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': contentType }, payload: body });
}

export interface JobJson {
  id: string;
  status: string;
  type: string;
  [key: string]: unknown;
}

const FINISHED = ['completed', 'failed', 'cancelled'];

/** Polls the job until `until` holds (default: finished). */
export async function waitForJob(
  app: FastifyInstance,
  id: string,
  until: (job: JobJson) => boolean = (job) => FINISHED.includes(job.status),
  timeoutMs = 30_000,
): Promise<JobJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await app.inject({ method: 'GET', url: `/api/jobs/${id}` });
    expect(response.statusCode).toBe(200);
    const job = response.json() as JobJson;
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function importFile(app: FastifyInstance, content: Buffer | string, filename = 'products.csv'): Promise<JobJson> {
  const response = await uploadRaw(app, content, { filename });
  expect(response.statusCode, response.body).toBe(202);
  return waitForJob(app, (response.json() as JobJson).id);
}

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  at: number;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Resolves when the server ends the stream. */
  ended: Promise<SseEvent[]>;
  events: SseEvent[];
  /** Resolves once `count` events (not comments) have arrived. */
  next(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

/** Opens an SSE stream over real HTTP and parses it as it comes. */
export function openSse(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${baseUrl}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      const events: SseEvent[] = [];
      const waiters: { count: number; resolve: () => void }[] = [];
      let buffer = '';
      const eventCount = () => events.filter((event) => event.comment === undefined && (event.event || event.data)).length;
      const wake = () => {
        for (const waiter of [...waiters]) if (eventCount() >= waiter.count) waiter.resolve();
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { at: Date.now() };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const name = line.slice(0, colon);
              const value = line.slice(colon + 1).replace(/^ /, '');
              if (name === 'id' || name === 'event' || name === 'data') event[name] = value;
            }
          }
          events.push(event);
        }
        wake();
      });
      const ended = new Promise<SseEvent[]>((resolveEnded) => {
        response.on('end', () => resolveEnded(events));
        response.on('close', () => resolveEnded(events));
      });
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        events,
        ended,
        next(count, timeoutMs = 20_000) {
          return new Promise((resolveNext, rejectNext) => {
            const timer = setTimeout(() => rejectNext(new Error(`only ${eventCount()} SSE events after ${timeoutMs} ms`)), timeoutMs);
            waiters.push({
              count,
              resolve: () => {
                clearTimeout(timer);
                resolveNext(events.filter((event) => event.comment === undefined && (event.event || event.data)));
              },
            });
            wake();
          });
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

/** The events of a stream that carry data (not comments, not the retry hint). */
export function dataEvents(events: SseEvent[]): (SseEvent & { job: JobJson & { message: string } })[] {
  return events.filter((event) => event.data !== undefined).map((event) => ({ ...event, job: JSON.parse(event.data as string) }));
}
