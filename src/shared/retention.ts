import { setTimeout as sleep } from 'node:timers/promises';
import { once, type Closable } from './shutdown.js';

/**
 * One kind of record that expires, owned by its feature (registered at the composition
 * root): deletes at most one small batch of what has expired at `now` and says how many
 * rows or files it deleted; 0 means nothing expired is left.
 */
export interface RetentionTask {
  name: string;
  pruneBatch(now: Date): Promise<number>;
}

export interface RetentionOptions {
  intervalMs: number;
  /** A pass stops early (to go on at the next interval) while this says so, e.g. while a job runs. */
  holdOff?: () => Promise<boolean>;
  /** Pause between two batches, so other writers (an import, the API) get the database between them. */
  pauseMs?: number;
  onError(task: string, error: unknown): void;
}

/** Deleted per task in one pass, by task name. */
export type RetentionPassResult = Record<string, number>;

/**
 * One pass: each task in turn, batch after batch until it has nothing left, pausing
 * between batches; stops early when `holdOff` says so or `stopped()` turns true.
 */
export async function runRetentionPass(
  tasks: RetentionTask[],
  options: Pick<RetentionOptions, 'holdOff' | 'pauseMs' | 'onError'>,
  stopped: () => boolean = () => false,
  now = new Date(),
): Promise<RetentionPassResult> {
  const deleted: RetentionPassResult = {};
  for (const task of tasks) {
    let total = 0;
    try {
      for (;;) {
        if (stopped() || (await options.holdOff?.())) break;
        const count = await task.pruneBatch(now);
        total += count;
        if (count === 0) break;
        await sleep(options.pauseMs ?? 20);
      }
    } catch (error) {
      options.onError(task.name, error);
    }
    deleted[task.name] = total;
    if (stopped()) break;
  }
  return deleted;
}

/** Runs a pass now and then every `intervalMs`, one at a time; `close()` ends the running pass at its next batch. */
export function startRetention(tasks: RetentionTask[], options: RetentionOptions): Closable {
  let closed = false;
  let running: Promise<unknown> | null = null;
  const pass = () => {
    running ??= runRetentionPass(tasks, options, () => closed).finally(() => {
      running = null;
    });
  };
  pass();
  const timer = setInterval(pass, options.intervalMs);
  timer.unref();
  return {
    name: 'retention',
    close: once(async () => {
      closed = true;
      clearInterval(timer);
      await running;
    }),
  };
}
