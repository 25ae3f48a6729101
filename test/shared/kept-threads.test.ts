import { describe, expect, it } from 'vitest';
import { keptThreads } from '../../src/shared/threads.js';

// The pool of reused threads the job threads and the SQLite import writers share, over plain
// objects: which one `take` hands out, and that an exited thread is never handed out again.
describe('keptThreads', () => {
  const pool = () => {
    let started = 0;
    const threads = keptThreads(() => ({ name: `thread ${++started}` }));
    return { threads, started: () => started };
  };

  it('starts a thread only when none is idle, and hands a released one out again', () => {
    const { threads, started } = pool();
    const first = threads.take();
    const second = threads.take();
    expect(started()).toBe(2);
    expect(first).not.toBe(second);
    threads.release(first);
    expect(threads.take()).toBe(first);
    expect(started()).toBe(2);
    expect([...threads.all]).toEqual([first, second]);
  });

  it('drops a thread that exits, whether idle or in use', () => {
    const { threads, started } = pool();
    const idle = threads.take();
    const busy = threads.take();
    threads.release(idle);
    threads.exited(idle);
    threads.exited(busy);
    // Released after its exit (its run ended with it): not kept either.
    threads.release(busy);
    expect(threads.all.size).toBe(0);
    const next = threads.take();
    expect(next).not.toBe(idle);
    expect(next).not.toBe(busy);
    expect(started()).toBe(3);
  });

  it('hands the idle threads over once, to be ended', () => {
    const { threads } = pool();
    const [a, b, c] = [threads.take(), threads.take(), threads.take()];
    threads.release(a);
    threads.release(c);
    expect(threads.takeIdle()).toEqual([a, c]);
    expect(threads.takeIdle()).toEqual([]);
    expect([...threads.all]).toEqual([a, b, c]);
  });
});
