import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressBus } from '../../src/jobs/jobs.progress-bus.js';
import { jobKinds } from '../../src/job-kinds.js';
import { createProgressStreams, type ProgressStreams } from '../../src/jobs/jobs.progress-stream.js';
import type { JobStatus } from '../../src/db/database.schema.js';
import { createJobsService, type JobsService } from '../../src/jobs/jobs.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { dataEvents, openSse } from './job-helpers.js';

// Finding 7: every progress stream, however it ends, leaves no poll, no timer and no bus
// subscription behind. The jobs service and the bus are the real ones, wrapped only to
// count the table reads per job and the live subscriptions.

const POLL_MS = 15;

interface Harness {
  streams: ProgressStreams;
  baseUrl: string;
  bus: ProgressBus;
  /** jobs.get calls per job id. */
  reads: Map<string, number>;
  subscribers(): number;
  /** Runs between open() and attach() for requests to /<id>?hook=<name>. */
  hooks: Map<string, (request: http.IncomingMessage, jobId: string) => Promise<void>>;
  close(): Promise<void>;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function startHarness(test: TestApp): Promise<Harness> {
  const { database, jobQueue, progressBus } = test.runtime;
  const real: JobsService = createJobsService({ database, kinds: jobKinds, queue: jobQueue, progress: progressBus });
  const reads = new Map<string, number>();
  const jobs: JobsService = {
    ...real,
    get(id) {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return real.get(id);
    },
  };
  let subscribers = 0;
  const bus: ProgressBus = {
    ...progressBus,
    async subscribe(jobId, listener) {
      const unsubscribe = await progressBus.subscribe(jobId, listener);
      subscribers++;
      let done = false;
      return async () => {
        if (!done) subscribers--;
        done = true;
        await unsubscribe();
      };
    },
  };
  const streams = createProgressStreams(jobs, bus, { pollMs: POLL_MS, heartbeatMs: 60_000 });
  const hooks: Harness['hooks'] = new Map();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const jobId = url.pathname.slice(1);
    const hook = hooks.get(url.searchParams.get('hook') ?? '');
    void streams
      .open(jobId, undefined)
      .then(async (stream) => {
        await hook?.(request, jobId);
        stream.attach(response, {});
      })
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    streams,
    baseUrl: `http://127.0.0.1:${port}`,
    bus: progressBus,
    reads,
    subscribers: () => subscribers,
    hooks,
    async close() {
      streams.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function insertJob(test: TestApp, id: string, status: JobStatus): Promise<void> {
  const now = new Date().toISOString();
  const finished = status === 'completed' || status === 'failed' || status === 'cancelled';
  await test.runtime.database.db
    .insertInto('jobs')
    .values({ id, type: 'bulk_delete', status, created_at: now, updated_at: now, finished_at: finished ? now : null })
    .execute();
}

/**
 * Proves that the streams of `ended` jobs poll no more: while a control stream (a queued
 * job that never changes) reads the table several more times, their read counts stay put.
 */
async function expectNoMoreReads(harness: Harness, controlId: string, ended: string[]): Promise<void> {
  const before = new Map(ended.map((id) => [id, harness.reads.get(id) ?? 0]));
  const controlBefore = harness.reads.get(controlId) ?? 0;
  await waitUntil(() => (harness.reads.get(controlId) ?? 0) >= controlBefore + 6, 'six polls of the control stream');
  for (const id of ended) expect(harness.reads.get(id) ?? 0, `reads of ${id} after its stream ended`).toBe(before.get(id));
}

describe('progress streams leave nothing behind', () => {
  let test: TestApp;
  let harness: Harness;
  const CONTROL = '00000000-0000-4000-8000-000000000001';
  beforeEach(async () => {
    test = await startTestApp('sqlite');
    harness = await startHarness(test);
    await insertJob(test, CONTROL, 'queued');
  });
  afterEach(async () => {
    await harness?.close();
    await test?.close();
  });

  async function withControl(work: () => Promise<string[]>): Promise<void> {
    const control = await openSse(harness.baseUrl, `/${CONTROL}`);
    await control.next(1);
    const ended = await work();
    await waitUntil(() => harness.subscribers() === 1, 'only the control stream to stay subscribed');
    await expectNoMoreReads(harness, CONTROL, ended);
    control.close();
    await waitUntil(() => harness.subscribers() === 0, 'the control stream to unsubscribe');
  }

  it('a finished job: the terminal event at once, and no poll afterwards (many streams)', async () => {
    const finished = '00000000-0000-4000-8000-000000000002';
    await insertJob(test, finished, 'completed');
    await withControl(async () => {
      const streams = await Promise.all(Array.from({ length: 20 }, () => openSse(harness.baseUrl, `/${finished}`)));
      for (const stream of streams) expect(dataEvents(await stream.ended).map((event) => event.event)).toEqual(['completed']);
      return [finished];
    });
  });

  it('a terminal event already waiting when the stream attaches', async () => {
    const running = '00000000-0000-4000-8000-000000000003';
    await insertJob(test, running, 'running');
    harness.hooks.set('finish-first', async (_request, jobId) => {
      const job = await createJobsService({ database: test.runtime.database, kinds: jobKinds, queue: test.runtime.jobQueue, progress: test.runtime.progressBus }).get(jobId);
      await harness.bus.publish({ ...job, status: 'completed' });
    });
    await withControl(async () => {
      const stream = await openSse(harness.baseUrl, `/${running}?hook=finish-first`);
      expect(dataEvents(await stream.ended).map((event) => event.event)).toEqual(['progress', 'completed']);
      return [running];
    });
  });

  it('a client that disconnects while its stream opens', async () => {
    const queued = '00000000-0000-4000-8000-000000000004';
    await insertJob(test, queued, 'queued');
    let entered = 0;
    let attached = 0;
    harness.hooks.set('client-gone', async (request) => {
      entered++;
      await new Promise((resolve) => (request.destroyed ? resolve(null) : request.once('close', resolve)));
      attached++;
    });
    await withControl(async () => {
      for (let index = 0; index < 5; index++) {
        const request = http.get(`${harness.baseUrl}/${queued}?hook=client-gone`);
        request.on('error', () => undefined);
        await waitUntil(() => entered > index, 'the server to be opening the stream');
        request.destroy();
        await waitUntil(() => attached > index, 'the server to attach after the client left');
      }
      return [queued];
    });
  });

  it('a running job whose client disconnects mid-stream', async () => {
    const queued = '00000000-0000-4000-8000-000000000005';
    await insertJob(test, queued, 'queued');
    await withControl(async () => {
      const streams = await Promise.all(Array.from({ length: 10 }, () => openSse(harness.baseUrl, `/${queued}`)));
      for (const stream of streams) await stream.next(1);
      for (const stream of streams) stream.close();
      return [queued];
    });
  });

  it('server shutdown: open streams end, and a stream that finishes opening afterwards ends at once', async () => {
    const queued = '00000000-0000-4000-8000-000000000006';
    const late = '00000000-0000-4000-8000-000000000007';
    await insertJob(test, queued, 'queued');
    await insertJob(test, late, 'queued');
    const open = await openSse(harness.baseUrl, `/${queued}`);
    await open.next(1);
    harness.hooks.set('shutdown', async () => harness.streams.closeAll());
    const opening = await openSse(harness.baseUrl, `/${late}?hook=shutdown`);
    expect(dataEvents(await opening.ended).map((event) => event.event)).toEqual(['progress']);
    expect(dataEvents(await open.ended).map((event) => event.event)).toEqual(['progress']);
    await waitUntil(() => harness.subscribers() === 0, 'every stream to unsubscribe');
    // No stream is left to poll: the read counts of both jobs stay put while a fresh
    // instance (a new process, say) streams a control job.
    const reads = { queued: harness.reads.get(queued), late: harness.reads.get(late) };
    const control = await startHarness(test);
    try {
      const stream = await openSse(control.baseUrl, `/${CONTROL}`);
      await stream.next(1);
      await waitUntil(() => (control.reads.get(CONTROL) ?? 0) >= 6, 'six polls of the control stream');
      expect({ queued: harness.reads.get(queued), late: harness.reads.get(late) }).toEqual(reads);
      stream.close();
    } finally {
      await control.close();
    }
  });
});
