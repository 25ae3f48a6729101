import { afterAll, afterEach, expect, it, vi } from 'vitest';
import type { ProgressBus } from '../../src/jobs/jobs.progress-bus.js';
import type { Job } from '../../src/jobs/jobs.schemas.js';
import { describeEach } from '../support/suites.js';
import { progressBusBackends } from './contract-backends.js';

const backends = await progressBusBackends();

function job(id: string, rows: number, status: Job['status'] = 'running'): Job {
  return {
    id,
    type: 'import',
    status,
    phase: 'importing',
    filename: 'a.csv',
    file_sha256: null,
    bytes_total: 1000,
    bytes_processed: rows * 10,
    percent: rows,
    rows_total: 0,
    rows_processed: rows,
    inserted: rows,
    updated: 0,
    unchanged: 0,
    invalid: 0,
    rows_per_second: 100,
    eta_seconds: 1,
    warnings: [],
    error: null,
    retryable: false,
    created_at: new Date().toISOString(),
    started_at: new Date().toISOString(),
    finished_at: null,
  };
}

function collector() {
  const received: Job[] = [];
  return {
    received,
    listener: (update: Job) => received.push(update),
    /** Waits until `count` updates have arrived. */
    async until(count: number) {
      await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(count), { timeout: 5000, interval: 10 });
      return received;
    },
  };
}

describeEach('ProgressBus contract ($name)', backends, (backend) => {
  const buses: ProgressBus[] = [];
  /** Two "nodes": the one running the job and the one serving the stream. */
  const nodes = () => {
    const publisher = backend.create();
    const subscriber = backend.create();
    buses.push(publisher, subscriber);
    return { publisher, subscriber };
  };
  afterEach(async () => {
    if (!backend.shared) for (const bus of buses.splice(0)) await bus.close();
  });
  afterAll(() => backend.cleanUp());

  it('delivers every update published after subscribe resolved, in order, only for that job', async () => {
    const { publisher, subscriber } = nodes();
    const mine = collector();
    await subscriber.subscribe('job-a', mine.listener);
    await publisher.publish(job('job-b', 1));
    for (const rows of [1, 2, 3]) await publisher.publish(job('job-a', rows));
    await publisher.publish(job('job-a', 4, 'completed'));
    // Published last: once it is here, anything else (a repeat, job-b's update) would be too.
    await publisher.publish(job('job-a', 5, 'completed'));
    const received = await mine.until(5);
    expect(received.map((update) => [update.id, update.rows_processed, update.status])).toEqual([
      ['job-a', 1, 'running'],
      ['job-a', 2, 'running'],
      ['job-a', 3, 'running'],
      ['job-a', 4, 'completed'],
      ['job-a', 5, 'completed'],
    ]);
    expect(received[0]).toMatchObject({ filename: 'a.csv', eta_seconds: 1, percent: 1 });
  });

  it('fans out to every subscriber; unsubscribing one leaves the others', async () => {
    const { publisher, subscriber } = nodes();
    const first = collector();
    const second = collector();
    const unsubscribeFirst = await subscriber.subscribe('job-c', first.listener);
    await subscriber.subscribe('job-c', second.listener);
    await publisher.publish(job('job-c', 1));
    await first.until(1);
    await second.until(1);
    await unsubscribeFirst();
    await publisher.publish(job('job-c', 2));
    // Published last, to the same node: once the second listener has it, the first would have 2.
    await publisher.publish(job('job-c', 3));
    await second.until(3);
    expect(first.received.map((update) => update.rows_processed)).toEqual([1]);
    expect(second.received.map((update) => update.rows_processed)).toEqual([1, 2, 3]);
  });

  it('keeps the latest update of a job for readers on any node; null for a job not heard of', async () => {
    const { publisher, subscriber } = nodes();
    await publisher.publish(job('job-d', 5));
    await publisher.publish(job('job-d', 7));
    expect((await subscriber.latest('job-d'))?.rows_processed).toBe(7);
    expect(await subscriber.latest('job-unknown')).toBeNull();
  });
});
