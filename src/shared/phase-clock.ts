/**
 * Where a long run's time goes: wall time accumulated per named phase (monotonic clock), read
 * once at the end. One per run, handed to whoever does the timed work; costs a clock read at the
 * start and end of each timed span.
 */
export class PhaseClock {
  private readonly totals = new Map<string, number>();

  /** A start time for `add`. */
  now(): number {
    return performance.now();
  }

  /** Adds the time since `startedAt` (from `now()`) to `phase`. */
  add(phase: string, startedAt: number): void {
    this.addMs(phase, performance.now() - startedAt);
  }

  /** Adds `ms` milliseconds to `phase`. */
  addMs(phase: string, ms: number): void {
    this.totals.set(phase, (this.totals.get(phase) ?? 0) + ms);
  }

  time<T>(phase: string, work: () => T): T {
    const startedAt = performance.now();
    try {
      return work();
    } finally {
      this.add(phase, startedAt);
    }
  }

  async timeAsync<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, startedAt);
    }
  }

  /** Milliseconds per phase, in the order the phases were first timed. */
  milliseconds(): Record<string, number> {
    return Object.fromEntries([...this.totals].map(([phase, ms]) => [phase, Math.round(ms)]));
  }
}
