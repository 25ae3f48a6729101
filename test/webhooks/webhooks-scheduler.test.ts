import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOutboxSignal, type OutboxSignal } from '../../src/outbox/outbox.signal.js';
import { createDispatchScheduler, type DispatchScheduler, type PassRequest } from '../../src/webhooks/webhooks.scheduler.js';

// The dispatcher's scheduler alone, without a database: a recording pass stands in for
// the real one, and vitest's fake clock drives the timers (setImmediate, the poll, the
// retry timer), so each test says exactly when a pass is asked for and what it is asked to do.

const POLL_MS = 1_000;
/** The fake clock runs a setImmediate queued inside a timer's callback 1 ms later (a zero delay during a tick counts as 1). */
const IMMEDIATE_MS = 1;

interface PassCall {
  fanOut: boolean;
  at: number;
}

/** A pass that records its calls; `hold()` makes the next passes wait until `release()`. */
function recordingPass() {
  const calls: PassCall[] = [];
  let running = 0;
  let mostAtOnce = 0;
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let failNext: Error | null = null;
  const pass = async ({ fanOut }: PassRequest) => {
    calls.push({ fanOut, at: Date.now() });
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    try {
      if (gate) await gate.promise;
      if (failNext) {
        const error = failNext;
        failNext = null;
        throw error;
      }
    } finally {
      running--;
    }
  };
  return {
    pass,
    calls,
    mostAtOnce: () => mostAtOnce,
    running: () => running,
    hold() {
      let open = () => undefined as void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    failNextWith(error: Error) {
      failNext = error;
    },
  };
}

describe('webhook dispatch scheduler', () => {
  let signal: OutboxSignal;
  let recorder: ReturnType<typeof recordingPass>;
  let errors: { message: string; error: unknown }[];
  let scheduler: DispatchScheduler;
  let start: number;
  /** Listeners the scheduler holds on the outbox signal. */
  let listening: number;

  /** Lets the event loop turn (setImmediate) and every promise settle, without moving the clock. */
  const settle = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    start = Date.now();
    signal = createOutboxSignal();
    recorder = recordingPass();
    errors = [];
    listening = 0;
    scheduler = createDispatchScheduler({
      pass: recorder.pass,
      subscribe: (listener) => {
        const unsubscribe = signal.subscribe(listener);
        listening++;
        return () => {
          listening--;
          unsubscribe();
        };
      },
      pollIntervalMs: POLL_MS,
      onError: (message, error) => errors.push({ message, error }),
    });
    scheduler.start();
    await settle();
  });

  afterEach(async () => {
    recorder.release();
    await scheduler.close();
    vi.useRealTimers();
  });

  it('runs one pass at start, which fans out', () => {
    expect(recorder.calls).toEqual([{ fanOut: true, at: start }]);
  });

  it('coalesces a burst of wake-ups into one pass on the next turn of the event loop', async () => {
    for (let i = 0; i < 10; i++) signal.notify();
    scheduler.wake();
    expect(recorder.calls).toHaveLength(1);
    await settle();
    expect(recorder.calls).toEqual([
      { fanOut: true, at: start },
      { fanOut: true, at: start },
    ]);
  });

  it('asks a pass to fan out after a notification, and only to claim after a freed slot', async () => {
    scheduler.wake();
    await settle();
    signal.notify();
    await settle();
    scheduler.wakeForEvents();
    await settle();
    expect(recorder.calls.slice(1).map((call) => call.fanOut)).toEqual([false, true, true]);
  });

  it('never runs two passes at once: wake-ups during a pass run exactly one more after it', async () => {
    recorder.hold();
    scheduler.wake();
    await settle();
    expect(recorder.running()).toBe(1);
    signal.notify();
    await settle();
    scheduler.wake();
    await settle();
    expect(recorder.calls).toHaveLength(2);

    recorder.release();
    await settle();
    expect(recorder.calls).toHaveLength(3);
    // The notification during the pass is not lost: the pass after it fans out.
    expect(recorder.calls.at(2)?.fanOut).toBe(true);
    expect(recorder.mostAtOnce()).toBe(1);
    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(recorder.calls).toHaveLength(3);
  });

  it('polls every interval, each poll fanning out', async () => {
    await vi.advanceTimersByTimeAsync(POLL_MS + IMMEDIATE_MS - 1);
    expect(recorder.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1 + 2 * POLL_MS);
    expect(recorder.calls).toEqual([
      { fanOut: true, at: start },
      { fanOut: true, at: start + POLL_MS + IMMEDIATE_MS },
      { fanOut: true, at: start + 2 * POLL_MS + IMMEDIATE_MS },
      { fanOut: true, at: start + 3 * POLL_MS + IMMEDIATE_MS },
    ]);
  });

  it('wakes for a due retry just after its time, keeping only the earliest retry timer', async () => {
    const firesAt = 300 + 5 + IMMEDIATE_MS; // its due time, the scheduler's 5 ms margin, the immediate
    scheduler.wakeAt(start + 600);
    scheduler.wakeAt(start + 300); // earlier: replaces the 600 ms timer
    scheduler.wakeAt(start + 900); // later than the one set: ignored (the 300 ms pass or the poll covers it)
    await vi.advanceTimersByTimeAsync(firesAt - 1);
    expect(recorder.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(recorder.calls).toEqual([
      { fanOut: true, at: start },
      { fanOut: false, at: start + firesAt },
    ]);
    // Neither the replaced 600 ms timer nor the ignored 900 ms one fires before the poll.
    await vi.advanceTimersByTimeAsync(POLL_MS - firesAt);
    expect(recorder.calls).toHaveLength(2);
  });

  it('accepts a later retry timer once the earlier one has fired', async () => {
    scheduler.wakeAt(start + 100);
    await vi.advanceTimersByTimeAsync(100 + 5 + IMMEDIATE_MS);
    scheduler.wakeAt(start + 400);
    await vi.advanceTimersByTimeAsync(300);
    expect(recorder.calls.map((call) => call.at - start)).toEqual([0, 106, 406]);
    expect(recorder.calls.slice(1).every((call) => !call.fanOut)).toBe(true);
  });

  it('reports a failed pass and fans out again on the next one, even when only a slot was freed', async () => {
    recorder.failNextWith(new Error('database is locked'));
    scheduler.wake();
    await settle();
    expect(errors).toEqual([{ message: 'a dispatch pass failed (the next poll retries)', error: new Error('database is locked') }]);
    scheduler.wake();
    await settle();
    expect(recorder.calls.slice(1).map((call) => call.fanOut)).toEqual([false, true]);
  });

  it('runs no pass after close, and close waits for the running pass', async () => {
    expect(listening).toBe(1);
    recorder.hold();
    scheduler.wake();
    await settle();
    scheduler.wakeAt(start + 200);
    let closed = false;
    const closing = scheduler.close().then(() => (closed = true));
    const stopping = recorder.calls.length;
    signal.notify();
    scheduler.wake();
    scheduler.wakeAt(start + 100);
    await settle();
    expect(closed).toBe(false);

    recorder.release();
    await closing;
    await vi.advanceTimersByTimeAsync(5 * POLL_MS);
    expect(recorder.calls).toHaveLength(stopping);
    expect(vi.getTimerCount()).toBe(0);
    expect(listening).toBe(0);
  });

  it('tells the running pass to stop when closing', async () => {
    let seen: AbortSignal | null = null;
    const local = createDispatchScheduler({
      pass: async ({ stopping }) => {
        seen = stopping;
      },
      subscribe: (listener) => signal.subscribe(listener),
      pollIntervalMs: POLL_MS,
      onError: () => undefined,
    });
    local.start();
    await settle();
    expect(seen).not.toBeNull();
    expect(seen!.aborted).toBe(false);
    await local.close();
    expect(seen!.aborted).toBe(true);
  });
});
