import { afterAll, afterEach, expect, it } from 'vitest';
import type { JobConsumer, JobQueue, RunJob } from '../../src/jobs/jobs.queue.js';
import { describeEach } from '../support/suites.js';
import { queueBackends } from './contract-backends.js';

const backends = await queueBackends();

function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error('condition not met in time'));
      setTimeout(check, 10);
    };
    check();
  });
}

let sequence = 0;
const jobId = () => `00000000-0000-4000-8000-${String(++sequence).padStart(6, '0')}${String(Date.now() % 1_000_000).padStart(6, '0')}`;

describeEach('JobQueue contract ($name)', backends, (backend) => {
  const opened: { queue: JobQueue; consumers: JobConsumer[] }[] = [];
  const open = () => {
    const entry = { queue: backend.create(), consumers: [] as JobConsumer[] };
    opened.push(entry);
    return {
      queue: entry.queue,
      consume: (run: RunJob, options?: Parameters<JobQueue['consume']>[1]) => {
        const consumer = entry.queue.consume(run, options);
        entry.consumers.push(consumer);
        return consumer;
      },
    };
  };
  afterEach(async () => {
    for (const entry of opened.splice(0)) {
      for (const consumer of entry.consumers) await consumer.close();
      await entry.queue.close();
    }
  });
  afterAll(() => backend.cleanUp());

  it('runs each enqueued job once, in order', async () => {
    const { queue, consume } = open();
    const ran: string[] = [];
    consume(async (id) => {
      ran.push(id);
      return 'finished';
    });
    const ids = [jobId(), jobId(), jobId()];
    for (const id of ids) await queue.enqueue(id);
    // One at a time and in order: a second run of any of them would come before this one.
    const sentinel = jobId();
    await queue.enqueue(sentinel);
    await waitFor(() => ran.includes(sentinel));
    expect(ran).toEqual([...ids, sentinel]);
  });

  it('keeps jobs enqueued before any consumer until one starts', async () => {
    const { queue, consume } = open();
    const ids = [jobId(), jobId()];
    for (const id of ids) await queue.enqueue(id);
    const ran: string[] = [];
    consume(async (id) => {
      ran.push(id);
      return 'finished';
    });
    await waitFor(() => ran.length === 2);
    expect(ran).toEqual(ids);
  });

  it('ignores enqueueing a job that is waiting or running; runs it again once it has finished', async () => {
    const { queue, consume } = open();
    const id = jobId();
    let release: () => void = () => undefined;
    const ran: string[] = [];
    consume(async (runId) => {
      ran.push(runId);
      if (ran.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return 'finished';
    });
    await queue.enqueue(id);
    await queue.enqueue(id);
    await waitFor(() => ran.length === 1);
    await queue.enqueue(id);
    // Enqueued after the repeats: had one of them been taken, it would run before this.
    const sentinel = jobId();
    await queue.enqueue(sentinel);
    release();
    await waitFor(() => ran.includes(sentinel));
    expect(ran).toEqual([id, sentinel]);
    // The sentinel started, so the first run has finished (one at a time): the job may run again.
    await queue.enqueue(id);
    await waitFor(() => ran.length === 3);
    expect(ran).toEqual([id, sentinel, id]);
  });

  it('discards a waiting job (it does not run), and runs it when enqueued again', async () => {
    const { queue, consume } = open();
    const [busy, discarded, after] = [jobId(), jobId(), jobId()];
    let release: () => void = () => undefined;
    const ran: string[] = [];
    consume(async (runId) => {
      ran.push(runId);
      if (runId === busy) await new Promise<void>((resolve) => (release = resolve));
      return 'finished';
    });
    await queue.enqueue(busy);
    await waitFor(() => ran.length === 1);
    await queue.enqueue(discarded);
    await queue.discard(discarded);
    await queue.enqueue(after); // waits behind where the discarded one stood
    release();
    await waitFor(() => ran.includes(after));
    expect(ran).toEqual([busy, after]);
    await queue.enqueue(discarded);
    await waitFor(() => ran.length === 3);
    expect(ran).toEqual([busy, after, discarded]);
  });

  it('runs at most `concurrency` jobs at a time', async () => {
    const { queue, consume } = open();
    const total = 5;
    let started = 0;
    let active = 0;
    let peak = 0;
    const done: string[] = [];
    // Every run holds its slot until both slots are busy (or it is the last job): the runs
    // overlap for sure, and a queue that starts a third one while two are held shows it.
    let releaseSlots: () => void = () => undefined;
    let slotsFull = new Promise<void>((resolve) => (releaseSlots = resolve));
    consume(
      async (id) => {
        started++;
        active++;
        peak = Math.max(peak, active);
        const gate = slotsFull;
        if (active === 2 || started === total) {
          releaseSlots();
          slotsFull = new Promise<void>((resolve) => (releaseSlots = resolve));
        }
        await gate;
        active--;
        done.push(id);
        return 'finished';
      },
      { concurrency: 2 },
    );
    for (let index = 0; index < total; index++) await queue.enqueue(jobId());
    await waitFor(() => done.length === total);
    expect(peak).toBe(2);
  });

  it('on consumer close: aborts the running job; an interrupted job runs again in the next consumer', async () => {
    const { queue, consume } = open();
    const id = jobId();
    let started = false;
    let aborted = false;
    const first = consume(async (_runId, signal) => {
      started = true;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = true;
      return 'interrupted';
    });
    await queue.enqueue(id);
    await waitFor(() => started);
    await first.close();
    expect(aborted).toBe(true);
    const ranAgain: string[] = [];
    consume(async (runId) => {
      ranAgain.push(runId);
      return 'finished';
    });
    await waitFor(() => ranAgain.length === 1);
    expect(ranAgain).toEqual([id]);
  });

  it('reports a run that throws and goes on with the next job', async () => {
    const { queue, consume } = open();
    const failing = jobId();
    const next = jobId();
    const errors: string[] = [];
    const ran: string[] = [];
    consume(
      async (id) => {
        if (id === failing) throw new Error('boom');
        ran.push(id);
        return 'finished';
      },
      { onError: (id, error) => errors.push(`${id}: ${(error as Error).message}`) },
    );
    await queue.enqueue(failing);
    await queue.enqueue(next);
    await waitFor(() => ran.includes(next) && errors.length > 0);
    expect(errors[0]).toBe(`${failing}: boom`);
  });
});
