import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * A thread module in TypeScript (running from source: tsx, vitest) starts through an entry that
 * registers tsx first, since threads do not inherit the loader; compiled ones (dist/) directly.
 */
const TYPESCRIPT_ENTRY = new URL('./thread-entry.mjs', import.meta.url);

/** Starts a worker thread running `module`, compiled or not. */
export function startThread(module: URL, options: { workerData: object; resourceLimits?: ResourceLimits }): Worker {
  const fromSource = module.pathname.endsWith('.ts');
  return new Worker(fromSource ? TYPESCRIPT_ENTRY : module, {
    workerData: { ...options.workerData, ...(fromSource ? { threadModule: module.href } : {}) },
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  });
}

/** The module `name` beside the module at `moduleUrl`, compiled (.js) or not (.ts) as that one is. */
export function threadModule(moduleUrl: string, name: string): URL {
  return new URL(`./${name}${moduleUrl.endsWith('.js') ? '.js' : '.ts'}`, moduleUrl);
}

/**
 * Threads kept between uses, so their start-up is paid once: `take` hands out an idle one or
 * starts one, `release` keeps it for the next taker (unless it has exited meanwhile). The owner
 * calls `exited` when a thread exits, which drops it from the pool whether idle or not.
 */
export interface KeptThreads<T> {
  take(): T;
  release(thread: T): void;
  exited(thread: T): void;
  /** Empties the idle list, returning the threads it held. */
  takeIdle(): T[];
  /** Every thread started and not exited yet, idle or not. */
  readonly all: ReadonlySet<T>;
}

export function keptThreads<T>(start: () => T): KeptThreads<T> {
  const idle: T[] = [];
  const all = new Set<T>();
  return {
    all,
    take() {
      const kept = idle.pop();
      if (kept !== undefined) return kept;
      const started = start();
      all.add(started);
      return started;
    },
    release(thread) {
      if (all.has(thread)) idle.push(thread);
    },
    exited(thread) {
      all.delete(thread);
      const index = idle.indexOf(thread);
      if (index >= 0) idle.splice(index, 1);
    },
    takeIdle: () => idle.splice(0),
  };
}
