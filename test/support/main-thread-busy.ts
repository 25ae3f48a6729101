import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

// How long the main thread is busy at a time: its event loop cannot run anything else meanwhile.
// Event-loop delay (wall time) also counts the time the OS did not run the process at all, which on
// a loaded machine (many test runs sharing two cores) is easily 100–300 ms for no fault of ours. So
// on Linux this measures the main thread's own CPU time (/proc/self/task/<tid>/schedstat, in ns)
// between consecutive ticks of a 5 ms timer: a synchronous stretch of work shows up whole, waiting
// for the CPU does not. Elsewhere it falls back to monitorEventLoopDelay.

const TICK_MS = 5;

export interface MainThreadBusyMonitor {
  /** Longest busy stretch since the last reset, in ms. */
  maxBusyMs(): number;
  /** What it measures: CPU time (Linux) or event-loop delay (wall time). */
  readonly measure: 'cpu' | 'event-loop delay';
  reset(): void;
  stop(): void;
}

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

function mainThreadCpuNs(): number {
  return Number(fs.readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
}

export function monitorMainThreadBusy(): MainThreadBusyMonitor {
  if (!fs.existsSync(SCHEDSTAT)) {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    return {
      measure: 'event-loop delay',
      maxBusyMs: () => histogram.max / 1e6,
      reset: () => histogram.reset(),
      stop: () => histogram.disable(),
    };
  }
  let last = mainThreadCpuNs();
  let max = 0;
  const timer = setInterval(() => {
    const now = mainThreadCpuNs();
    max = Math.max(max, now - last);
    last = now;
  }, TICK_MS);
  timer.unref();
  return {
    measure: 'cpu',
    maxBusyMs: () => max / 1e6,
    reset: () => {
      last = mainThreadCpuNs();
      max = 0;
    },
    stop: () => clearInterval(timer),
  };
}
