import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobKinds } from '../../src/job-kinds.js';
import { createProgressStreams } from '../../src/jobs/jobs.progress-stream.js';
import { createJobsService } from '../../src/jobs/jobs.service.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { holdImportAtNextBatch } from '../support/import-hold.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { catalog, dataEvents, importFile, openSse, uploadRaw, waitForJob, type JobJson, type SseStream } from './job-helpers.js';

const FINISHED = ['completed', 'failed', 'cancelled'];
/** Three batches (20,000 rows each). */
const ROWS = 50_000;
/** How long a job's progress must have been sampled before it shows a rate (RateTracker). */
const RATE_SPAN_MS = 500;

describeEachDialect('GET /api/progress/{id} (%s)', (dialect) => {
  let test: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    test = await startTestApp(dialect);
    baseUrl = await test.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await test?.close();
  });

  it('streams a running import: state at once, progress with increasing ids, exactly one terminal event, then closes', async () => {
    const accepted = (await uploadRaw(test.app, catalog(ROWS, { skuPrefix: 'SSE' }))).json() as JobJson;
    // Held at its first batch, so the stream opens on a running import for sure.
    const hold = await holdImportAtNextBatch(test, accepted.id);
    let stream: SseStream;
    try {
      const opened = Date.now();
      stream = await openSse(baseUrl, `/api/progress/${accepted.id}`);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['x-request-id']).toBeTruthy();
      const [first] = await stream.next(1);
      expect(first?.at ?? Infinity).toBeLessThan(opened + 5000);
      expect(JSON.parse(first?.data ?? '{}')).toMatchObject({ status: 'running' });
      // A live rate needs half a second of progress samples (RateTracker), the first taken at the
      // claim: held that long, the update after its first batch carries one.
      const { started_at } = await test.runtime.database.db.selectFrom('jobs').select('started_at').where('id', '=', accepted.id).executeTakeFirstOrThrow();
      const rateSpan = Date.parse(String(started_at)) + RATE_SPAN_MS - Date.now();
      if (rateSpan > 0) await new Promise((resolve) => setTimeout(resolve, rateSpan));
    } finally {
      await hold.release();
    }
    const events = dataEvents(await stream.ended);
    expect(events.length).toBeGreaterThanOrEqual(3);
    const ids = events.map((event) => Number(event.id));
    for (let index = 1; index < ids.length; index++) expect(ids[index]).toBeGreaterThan(ids[index - 1] as number);
    const terminal = events.filter((event) => event.event !== 'progress');
    expect(terminal).toHaveLength(1);
    expect(events.at(-1)?.event).toBe('completed');
    expect(events.slice(0, -1).every((event) => event.event === 'progress')).toBe(true);
    const last = events.at(-1)?.job;
    expect(last).toMatchObject({ id: accepted.id, status: 'completed', percent: 100, rows_processed: ROWS });
    expect(last?.message).toMatch(/completed/i);
    const running = events.filter((event) => event.job.status === 'running');
    expect(running.length).toBeGreaterThanOrEqual(2);
    // Progress is measured and only goes forward; the live rate shows while running.
    const percents = running.map((event) => event.job.percent as number);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(running.some((event) => typeof event.job.rows_per_second === 'number' && typeof event.job.eta_seconds === 'number')).toBe(true);
    for (const event of running) expect(event.job.message).toMatch(/%/);
  });

  it('gives a job that already finished its terminal event at once, then closes', async () => {
    const job = await importFile(test.app, catalog(5, { skuPrefix: 'DONE' }));
    const stream = await openSse(baseUrl, `/api/progress/${job.id}`);
    const events = dataEvents(await stream.ended);
    expect(events.map((event) => event.event)).toEqual(['completed']);
    expect(events[0]?.id).toBe('1');
    expect(events[0]?.job).toMatchObject({ id: job.id, status: 'completed', inserted: 5 });
  });

  it('on reconnect with Last-Event-ID: the current state at once, ids going on from there', async () => {
    const job = await importFile(test.app, catalog(5, { skuPrefix: 'RECONNECT' }));
    const stream = await openSse(baseUrl, `/api/progress/${job.id}`, { 'last-event-id': '41' });
    const events = dataEvents(await stream.ended);
    expect(events.map((event) => [event.id, event.event])).toEqual([['42', 'completed']]);
  });

  it('follows a queued job to its cancellation', async () => {
    // Queued for sure: through an app on the same store that runs no jobs.
    const idle = await startTestApp(dialect, {}, test.store, { runJobs: false });
    try {
      const idleUrl = await idle.app.listen({ port: 0, host: '127.0.0.1' });
      const queued = (await uploadRaw(idle.app, catalog(5, { skuPrefix: 'CQ' }))).json() as JobJson;
      const stream = await openSse(idleUrl, `/api/progress/${queued.id}`);
      const [first] = await stream.next(1);
      expect(JSON.parse(first?.data ?? '{}')).toMatchObject({ status: 'queued', message: expect.stringMatching(/queued/i) });
      expect((await idle.app.inject({ method: 'POST', url: `/api/jobs/${queued.id}/cancel` })).statusCode).toBe(200);
      const events = dataEvents(await stream.ended);
      expect(events.at(-1)).toMatchObject({ event: 'cancelled' });
      expect(events.filter((event) => FINISHED.includes(event.event ?? ''))).toHaveLength(1);
    } finally {
      await idle.close();
    }
  });

  it('answers 404 for an unknown job and 422 for a malformed id', async () => {
    const unknown = await test.app.inject({ method: 'GET', url: '/api/progress/3f6ed567-7f87-41de-8346-9de468e6f382' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ detail: 'Job not found' });
    expect((await test.app.inject({ method: 'GET', url: '/api/progress/x' })).statusCode).toBe(422);
  });
});

describe('SSE streams at shutdown', () => {
  it('end cleanly when the server closes', async () => {
    const test = await startTestApp('sqlite');
    try {
      const baseUrl = await test.app.listen({ port: 0, host: '127.0.0.1' });
      const blocker = (await uploadRaw(test.app, catalog(5, { skuPrefix: 'S' }))).json() as JobJson;
      await waitForJob(test.app, blocker.id);
      // A queued job that never runs keeps its stream open until shutdown.
      const row = { id: '3f6ed567-7f87-41de-8346-9de468e6f382', type: 'bulk_delete' as const };
      await test.runtime.database.db
        .insertInto('jobs')
        .values({ ...row, status: 'queued', created_at: new Date().toISOString(), updated_at: new Date().toISOString() })
        .execute();
      const stream = await openSse(baseUrl, `/api/progress/${row.id}`);
      await stream.next(1);
      const closing = test.app.close();
      await stream.ended;
      await closing;
      expect(dataEvents(stream.events).map((event) => event.event)).toEqual(['progress']);
    } finally {
      await test.close();
    }
  });
});

describe('SSE heartbeat', () => {
  it('sends a comment line every heartbeat interval while nothing changes', async () => {
    const test = await startTestApp('sqlite');
    const jobs = createJobsService({ database: test.runtime.database, kinds: jobKinds, queue: test.runtime.jobQueue, progress: test.runtime.progressBus });
    const streams = createProgressStreams(jobs, test.runtime.progressBus, { heartbeatMs: 50 });
    const server = http.createServer((request, response) => {
      void streams.open(request.url?.slice(1) ?? '', undefined).then((stream) => stream.attach(response, {}));
    });
    try {
      const id = '5f6ed567-7f87-41de-8346-9de468e6f382';
      const now = new Date().toISOString();
      await test.runtime.database.db.insertInto('jobs').values({ id, type: 'bulk_delete', status: 'queued', created_at: now, updated_at: now }).execute();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const stream = await openSse(`http://127.0.0.1:${port}`, `/${id}`);
      await stream.next(1);
      const heartbeats = () => stream.events.filter((event) => event.comment === 'heartbeat');
      await vi.waitFor(() => expect(heartbeats().length).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 10 });
      // Nothing changed, so nothing but heartbeats came after the state.
      expect(dataEvents(stream.events)).toHaveLength(1);
      stream.close();
    } finally {
      streams.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await test.close();
    }
  });
});
